import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('error catalogue', () => {
  it('every code in errors.ts is documented in the README table', () => {
    const source = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const codes = [...source.matchAll(/'(ERR_TACACS_[A-Z_]+)'/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(10);
    // The formatter pads table cells, so match the cell, not exact spacing.
    for (const code of new Set(codes)) expect(readme).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|`));
  });
});
