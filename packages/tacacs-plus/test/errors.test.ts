import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TACACS_ERRORS, TacacsError } from '../src/index.ts';

// Until the repository-wide catalogue test (test/errors/) covers this package: the README's table and
// the catalogue name the same codes, both ways.
describe('error catalogue', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const documented = new Set([...readme.matchAll(/^\|\s*`(ERR_TACACS_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]));

  it('every code in the catalogue is in the README table, and nothing else is', () => {
    expect(Object.keys(TACACS_ERRORS).length).toBeGreaterThan(10);
    expect([...documented].sort()).toEqual(Object.keys(TACACS_ERRORS).sort());
  });

  it('errors carry the shared shape: exit 2, the catalogue message in public renderings', () => {
    const e = new TacacsError('ERR_TACACS_TIMEOUT', '10.0.0.5:49 did not answer within 2000 ms');
    expect(e.message).toBe('10.0.0.5:49 did not answer within 2000 ms');
    expect(e.exitStatus).toBe(2);
    expect(e.toJSON()).toEqual({ code: 'ERR_TACACS_TIMEOUT', message: 'no reply in time' });
    expect(e).toBeInstanceOf(Error);
  });
});
