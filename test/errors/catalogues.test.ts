// Every package's error catalogue against its README, both ways: each code is documented in a table whose
// first column is the code in backticks, and each code such a table documents exists. Codes are unique
// across packages, so a code names one failure of one package wherever it is logged.
//
// The catalogues are found, not listed: every workspace package under packages/ (errors itself aside)
// must export one frozen `<PKG>_ERRORS` table from its index, imported here by package name.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../structure/workspace.ts';

interface Found {
  readonly dir: string;
  readonly name: string;
  readonly exportName: string | undefined;
  readonly codes: readonly string[];
}

const CODE = /^ERR_[A-Z0-9]+(?:_[A-Z0-9]+)+$/;

/** The `*_ERRORS` export of a package's index that looks like a catalogue (ERR_ keys, frozen rows). */
function catalogueOf(module: Record<string, unknown>): [string, readonly string[]] | undefined {
  for (const [exportName, value] of Object.entries(module)) {
    if (!exportName.endsWith('_ERRORS') || typeof value !== 'object' || value === null) continue;
    const codes = Object.keys(value);
    if (codes.length > 0 && codes.every((c) => CODE.test(c)) && Object.isFrozen(value)) {
      return [exportName, codes];
    }
  }
  return undefined;
}

/** The codes a README documents: first cells of table rows that are one `ERR_…` code in backticks. */
export function documentedCodes(markdown: string): string[] {
  return [...markdown.matchAll(/^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string);
}

const dirs = readdirSync(join(ROOT, 'packages')).filter((d) => d !== 'errors');

async function load(dir: string): Promise<Found> {
  const { name } = JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as {
    name: string;
  };
  const module = (await import(/* @vite-ignore */ name)) as Record<string, unknown>;
  const [exportName, codes] = catalogueOf(module) ?? [undefined, []];
  return { dir, name, exportName, codes };
}

const found = await Promise.all(dirs.map(load));

describe.each(found)('$name', ({ dir, exportName, codes }) => {
  const readme = readFileSync(join(ROOT, 'packages', dir, 'README.md'), 'utf8');

  it('exports its catalogue from its index as <PKG>_ERRORS', () => {
    expect(exportName, `packages/${dir}/src/index.ts exports no *_ERRORS catalogue`).toBeDefined();
  });

  it('documents every code of its catalogue in its README', () => {
    const documented = new Set(documentedCodes(readme));
    expect(codes.filter((c) => !documented.has(c))).toEqual([]);
  });

  it('documents no code its catalogue does not have', () => {
    const known = new Set(codes);
    expect(documentedCodes(readme).filter((c) => !known.has(c))).toEqual([]);
  });
});

describe('all catalogues', () => {
  it('no code belongs to two packages', () => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    for (const { name, codes } of found) {
      for (const code of codes) {
        const first = owner.get(code);
        if (first !== undefined) clashes.push(`${code}: ${first} and ${name}`);
        owner.set(code, name);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('reads a README table, and only its first column', () => {
    const md =
      '| code | meaning |\n| --- | --- |\n| `ERR_A_B` | x `ERR_C_D` |\n|`ERR_E_F`|y|\nsee `ERR_G_H`\n';
    expect(documentedCodes(md)).toEqual(['ERR_A_B', 'ERR_E_F']);
  });
});
