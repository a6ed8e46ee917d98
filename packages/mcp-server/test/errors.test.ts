/** Every error code has a public message and is documented in the README (fastify's rule). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PUBLIC_MESSAGES } from '../src/errors.ts';

describe('error catalogue', () => {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const codes = Object.keys(PUBLIC_MESSAGES);

  it('has codes', () => {
    expect(codes.length).toBeGreaterThan(15);
  });

  for (const code of codes) {
    it(`${code} is documented and has a short public message`, () => {
      expect(readme).toMatch(new RegExp(`\\| \`${code}\` +\\|`));
      const message = PUBLIC_MESSAGES[code as keyof typeof PUBLIC_MESSAGES];
      expect(message.length).toBeGreaterThan(5);
      expect(message.length).toBeLessThan(80);
    });
  }

  it('the README documents no code that does not exist', () => {
    const documented = [...readme.matchAll(/\| `(ERR_MCP_[A-Z_]+)` +\|/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...codes].sort());
  });
});
