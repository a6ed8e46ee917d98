// JSON as the repository's formatter (Biome) writes it, so rendered files pass `biome check` untouched:
// objects one member per line, arrays of scalars on one line when they fit in 110 columns.

const LINE_WIDTH = 110;
const INDENT = '  ';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isScalar(v: Json): v is null | boolean | number | string {
  return v === null || typeof v !== 'object';
}

function print(value: Json, depth: number, prefixWidth: number): string {
  if (isScalar(value)) return JSON.stringify(value);
  const pad = INDENT.repeat(depth + 1);
  const close = INDENT.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every(isScalar)) {
      const inline = `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
      // +1 for a trailing comma after the array.
      if (prefixWidth + inline.length + 1 <= LINE_WIDTH) return inline;
    }
    const items = value.map((v) => `${pad}${print(v, depth + 1, pad.length)}`);
    return `[\n${items.join(',\n')}\n${close}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  const members = entries.map(([k, v]) => {
    const head = `${pad}${JSON.stringify(k)}: `;
    return `${head}${print(v, depth + 1, head.length)}`;
  });
  return `{\n${members.join(',\n')}\n${close}}`;
}

/** `value` as Biome-formatted JSON text with a final newline. */
export function formatJson(value: unknown): string {
  // Round-trip through JSON first: drops undefined members exactly as JSON.stringify does.
  return `${print(JSON.parse(JSON.stringify(value)) as Json, 0, 0)}\n`;
}
