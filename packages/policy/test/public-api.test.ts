// The main entry is the package's public API: the README's API section lists exactly the values it
// exports (its `import { … } from '@netward/policy'` block), so a name added to or dropped from
// src/index.ts without the README, or the other way round, fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as main from '../src/index.ts';

function documentedValues(): string[] {
  const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
  const block = /^import \{\n([\s\S]*?)^\} from '@netward\/policy';$/m.exec(readme)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) =>
      line
        .replace(/\/\/.*$/, '')
        .trim()
        .replace(/,$/, ''),
    )
    .filter((name) => name !== '' && !name.startsWith('type '));
}

describe('@netward/policy main entry', () => {
  it('exports exactly the values the README API section lists', () => {
    const documented = documentedValues();
    expect(documented.length).toBeGreaterThan(20);
    expect(Object.keys(main).sort()).toEqual([...documented].sort());
  });
});
