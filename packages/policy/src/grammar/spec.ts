// Command grammars: the language, its parser, its matcher and its translation to an anchored rule.
//
// A grammar entry is one line such as `ping -c <int:1-5> [-W <int:1-5>] <ip>`: words separated by single
// spaces, each a literal (`ping`, `-c`), a choice of literals (`-4|-6`), or a typed value (`<ip>`), with
// optional groups `[ ... ]` (not nested). An entry admits exactly the commands (cmd and args joined by
// single spaces, as the validator builds the request) that spell one of its variants word by word. Options
// are therefore in a fixed order: the MCP tools build their commands in that order, and a fixed order is
// what lets one entry become one anchored tac_plus-ng rule with the same answers.
//
// No imports that load zod or yaml: the ForceCommand validator loads this module once per SSH command
// (through @netward/policy/local-rules).

/**
 * Value types. Each is defined by a pattern in the regex subset shared with tac_plus-ng (regex.ts), and
 * the validator matches a word against that very pattern, so the two layers cannot disagree about a value.
 * None matches a word that starts with `-` (an option) or contains `/` except a prefix length (a path),
 * and none matches a space, so a value is always exactly one word (except `text`, which is the rest).
 */
// No leading zeros: inet_aton (ping, traceroute) reads `010` as octal 8, so `010.0.0.1` would name another
// address than the one the grammar, the multicast check and an operator reading the log see.
const OCTET = '(0|[1-9][0-9]{0,2})';
const OCTETS = `${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}`;
// Hex digits and colons with at least one colon: the program parses the address; the shape is what keeps
// options, paths and names out. Zone ids (`%eth0`) are outside the input alphabet anyway.
const HEX6 = '[0-9a-f]{0,4}:[0-9a-f:]{1,38}';
const LEN4 = '(3[0-2]|[12]?[0-9])';
const LEN6 = '(12[0-8]|1[01][0-9]|[1-9]?[0-9])';
const HOST = '[a-z0-9][a-z0-9.-]{0,62}';

export const VALUE_TYPES = Object.freeze({
  /** Dotted quad (each part 1-3 digits, no leading zero). */
  ipv4: OCTETS,
  /** Lower-case hex digits and colons, at least one colon, at most 43 characters. */
  ipv6: HEX6,
  ip: `(${OCTETS}|${HEX6})`,
  /** IPv4 address, `/`, a length 0-32 (no leading zero). */
  prefix4: `${OCTETS}/${LEN4}`,
  /** IPv6 address, `/`, a length 0-128 (no leading zero). */
  prefix6: `${HEX6}/${LEN6}`,
  prefix: `(${OCTETS}/${LEN4}|${HEX6}/${LEN6})`,
  /** A DNS name (lower case, RFC 1123 label characters) or an IPv4 address, at most 63 characters. */
  hostname: HOST,
  /** hostname, IPv4 or IPv6. */
  host: `(${HOST}|${HEX6})`,
  /**
   * Linux interface name shape (IFNAMSIZ 16 with the NUL). The validator also requires the interface to
   * exist on the device; tac_plus-ng cannot know the device's interfaces, so that part is the validator's.
   */
  interface: '[a-zA-Z][a-zA-Z0-9._-]{0,14}',
  /** The rest of the command (last word only): words of the input alphabet, 1-64 characters. */
  text: '[a-zA-Z0-9_.:,=@][a-zA-Z0-9_.:,=@ -]{0,63}',
} as const);

export type ValueType = keyof typeof VALUE_TYPES | 'int';

export type Token =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'choice'; readonly options: readonly string[] }
  | { readonly kind: 'value'; readonly type: Exclude<ValueType, 'int'> }
  | { readonly kind: 'value'; readonly type: 'int'; readonly min: number; readonly max: number };

/** One word of an entry, with the optional group it belongs to (null = required). */
export interface SpecWord {
  readonly token: Token;
  readonly group: number | null;
}

export interface GrammarEntry {
  /** The entry as written in the policy. */
  readonly spec: string;
  readonly words: readonly SpecWord[];
  /** Every combination of present/absent optional groups, longest first. */
  readonly variants: readonly (readonly Token[])[];
}

/** Thrown for an entry outside the language; `message` says where and what. */
export class GrammarSpecError extends Error {
  override readonly name = 'GrammarSpecError';
}

// Literals use the validator's input alphabet minus the quote (a quote is never part of a word it passes
// on) and cannot start with a character that would read as something else in the spec.
const LITERAL = /^[a-zA-Z0-9_.:,=@-][a-zA-Z0-9_.:,=@/-]*$/;
/** Most optional groups in one entry: each doubles the number of rendered tac_plus-ng rules. */
export const MAX_OPTIONAL_GROUPS = 3;
/** Largest integer bound: keeps the rendered alternation short. */
export const MAX_INT = 65535;

function parseToken(word: string, spec: string): Token {
  if (word.startsWith('<')) {
    const m = /^<([a-z0-9]+)(?::([0-9]+)-([0-9]+))?>$/.exec(word);
    if (m === null) throw new GrammarSpecError(`"${word}" is not a value type such as <ip> or <int:1-5>`);
    const name = m[1] as string;
    if (name === 'int') {
      if (m[2] === undefined) throw new GrammarSpecError(`"${word}": an integer needs bounds, <int:MIN-MAX>`);
      const min = Number(m[2]);
      const max = Number(m[3]);
      if (!(min <= max && max <= MAX_INT) || /^0[0-9]/.test(m[2]) || /^0[0-9]/.test(m[3] as string)) {
        throw new GrammarSpecError(`"${word}": expected MIN <= MAX <= ${MAX_INT}, without leading zeros`);
      }
      return { kind: 'value', type: 'int', min, max };
    }
    if (m[2] !== undefined || !Object.hasOwn(VALUE_TYPES, name)) {
      throw new GrammarSpecError(
        `"${word}": unknown value type (expected one of int:MIN-MAX, ${Object.keys(VALUE_TYPES).join(', ')})`,
      );
    }
    return { kind: 'value', type: name as Exclude<ValueType, 'int'> };
  }
  if (word.includes('|')) {
    const options = word.split('|');
    if (options.some((o) => !LITERAL.test(o)) || new Set(options).size !== options.length) {
      throw new GrammarSpecError(`"${word}": a choice is distinct literals separated by |`);
    }
    return { kind: 'choice', options };
  }
  if (!LITERAL.test(word)) throw new GrammarSpecError(`"${word}" is not a literal word in "${spec}"`);
  return { kind: 'literal', text: word };
}

/** Parses one grammar entry; throws GrammarSpecError saying what is wrong. */
export function parseEntry(spec: string): GrammarEntry {
  if (spec.length === 0 || spec.length > 256 || spec !== spec.trim() || spec.includes('  ')) {
    throw new GrammarSpecError('expected 1-256 characters, words separated by single spaces');
  }
  const words: SpecWord[] = [];
  let group: number | null = null;
  let groups = 0;
  for (let raw of spec.split(' ')) {
    let opens = false;
    let closes = false;
    if (raw.startsWith('[')) {
      if (group !== null) throw new GrammarSpecError('optional groups cannot be nested');
      opens = true;
      raw = raw.slice(1);
    }
    if (raw.endsWith(']')) {
      closes = true;
      raw = raw.slice(0, -1);
    }
    if (opens) group = groups++;
    if (closes && group === null) throw new GrammarSpecError('"]" without "["');
    if (raw === '') throw new GrammarSpecError('empty word');
    words.push({ token: parseToken(raw, spec), group });
    if (closes) group = null;
  }
  if (group !== null) throw new GrammarSpecError('"[" without "]"');
  if (groups > MAX_OPTIONAL_GROUPS) {
    throw new GrammarSpecError(`more than ${MAX_OPTIONAL_GROUPS} optional groups`);
  }
  const first = words[0] as SpecWord;
  if (first.token.kind !== 'literal' || first.group !== null) {
    throw new GrammarSpecError('the first word must be a literal command name');
  }
  words.forEach((w, i) => {
    if (w.token.kind === 'value' && w.token.type === 'text' && (i !== words.length - 1 || w.group !== null)) {
      throw new GrammarSpecError(
        '<text> takes the rest of the command: it must be the last word, not optional',
      );
    }
  });
  const variants: Token[][] = [];
  for (let mask = (1 << groups) - 1; mask >= 0; mask--) {
    variants.push(words.filter((w) => w.group === null || (mask & (1 << w.group)) !== 0).map((w) => w.token));
  }
  return Object.freeze({ spec, words: Object.freeze(words), variants: Object.freeze(variants) });
}

const valueRegexCache = new Map<string, RegExp>();

function valueRegex(source: string): RegExp {
  let re = valueRegexCache.get(source);
  if (re === undefined) {
    re = new RegExp(`^(?:${source})$`);
    valueRegexCache.set(source, re);
  }
  return re;
}

/** Whether one word (or, for `text`, the rest of the command) is a value of the token's type. */
export function valueMatches(token: Token, word: string): boolean {
  switch (token.kind) {
    case 'literal':
      return word === token.text;
    case 'choice':
      return token.options.includes(word);
    case 'value':
      if (token.type === 'int') {
        if (!/^(0|[1-9][0-9]{0,4})$/.test(word)) return false;
        const n = Number(word);
        return n >= token.min && n <= token.max;
      }
      return valueRegex(VALUE_TYPES[token.type]).test(word);
  }
}

/**
 * Where a variant stops matching `words`: -1 when it matches all of them, else the index of the first word
 * that does not fit (words.length when words run out, the variant's length when words are left over).
 */
export function mismatchAt(variant: readonly Token[], words: readonly string[]): number {
  for (let i = 0; i < variant.length; i++) {
    const t = variant[i] as Token;
    if (t.kind === 'value' && t.type === 'text') {
      if (i >= words.length) return words.length;
      return valueMatches(t, words.slice(i).join(' ')) ? -1 : i;
    }
    if (i >= words.length) return words.length;
    if (!valueMatches(t, words[i] as string)) return i;
  }
  return words.length === variant.length ? -1 : variant.length;
}

// --- the anchored rule ----------------------------------------------------------------------------------

function escapeLiteral(text: string): string {
  return text.replace(/[.]/g, '\\.');
}

/** Decimal strings of [lo, hi] with the same number of digits, as an alternation without quantifiers. */
function sameLengthRange(lo: string, hi: string): string[] {
  if (lo.length === 0) return [''];
  if (lo === hi) return [lo];
  const a = Number(lo[0]);
  const b = Number(hi[0]);
  const restLen = lo.length - 1;
  const zeros = '0'.repeat(restLen);
  const nines = '9'.repeat(restLen);
  const cls = (x: number, y: number) => (x === y ? `${x}` : `[${x}-${y}]`);
  const digits = (n: number) => '[0-9]'.repeat(n);
  if (a === b) return sameLengthRange(lo.slice(1), hi.slice(1)).map((r) => `${a}${r}`);
  const out: string[] = [];
  let from = a;
  let to = b;
  if (lo.slice(1) !== zeros) {
    out.push(...sameLengthRange(lo.slice(1), nines).map((r) => `${a}${r}`));
    from = a + 1;
  }
  const hiFull = hi.slice(1) === nines;
  if (!hiFull) to = b - 1;
  if (from <= to) out.push(`${cls(from, to)}${digits(restLen)}`);
  if (!hiFull) out.push(...sameLengthRange(zeros, hi.slice(1)).map((r) => `${b}${r}`));
  return out;
}

/** A quantifier-free alternation matching exactly the decimal forms (no leading zeros) of min..max. */
export function intRangePattern(min: number, max: number): string {
  const parts: string[] = [];
  for (let len = String(min).length; len <= String(max).length; len++) {
    const lo = Math.max(min, len === 1 ? 0 : 10 ** (len - 1));
    const hi = Math.min(max, 10 ** len - 1);
    if (lo <= hi) parts.push(...sameLengthRange(String(lo), String(hi)));
  }
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join('|')})`;
}

function tokenPattern(t: Token): string {
  switch (t.kind) {
    case 'literal':
      return escapeLiteral(t.text);
    case 'choice':
      return `(${t.options.map(escapeLiteral).join('|')})`;
    case 'value':
      return t.type === 'int' ? intRangePattern(t.min, t.max) : VALUE_TYPES[t.type];
  }
}

/** The anchored rule pattern of one variant: `^` + each word's pattern joined by spaces + `$`. */
export function variantPattern(variant: readonly Token[]): string {
  return `^${variant.map(tokenPattern).join(' ')}$`;
}
