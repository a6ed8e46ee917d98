// Invalid policy files fail with precise messages: one fixture per case (test/fixtures/invalid/NAME.policy)
// and its expected error (NAME.expected.json): the error code, and each issue's kind, path and line.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicy, PolicyError, parsePolicy } from '../src/index.ts';
import { FIXTURES } from './helpers/reference.ts';

const DIR = join(FIXTURES, 'invalid');
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.policy'))
  .map((f) => f.slice(0, -'.policy'.length));

interface Expected {
  code: string;
  issues: { code: string; path: string; line?: number }[];
}

describe('invalid policy files', () => {
  it('has fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  for (const name of cases) {
    it(name, () => {
      const expected = JSON.parse(readFileSync(join(DIR, `${name}.expected.json`), 'utf8')) as Expected;
      const file = join(DIR, `${name}.policy`);
      let error: unknown;
      try {
        loadPolicy(file);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(PolicyError);
      const e = error as PolicyError;
      expect(e.code).toBe(expected.code);
      expect(e.file).toBe(file);
      expect(
        e.issues.map((i) => ({
          code: i.code,
          path: i.path,
          ...(expected.issues.some((x) => x.line !== undefined) ? { line: i.line } : {}),
        })),
      ).toEqual(expected.issues);
      // every line of the message names the file, the path and what was expected
      for (const issue of e.issues) {
        expect(e.message).toContain(`${file}${issue.line === undefined ? '' : `:${issue.line}:`}`);
        expect(issue.message.length).toBeGreaterThan(5);
        if (issue.path !== '') expect(e.message).toContain(`: ${issue.path}: `);
      }
    });
  }

  it('names the unknown key and the expectation', () => {
    try {
      loadPolicy(join(DIR, 'unknown-key.policy'));
      expect.unreachable();
    } catch (err) {
      const e = err as PolicyError;
      expect(e.issues[1]?.message).toMatch(/unknown key "rulez"/);
      expect(e.issues[0]?.message).toMatch(/missing, expected rules .* or grammar/);
    }
  });

  it('reports a missing file as ERR_POLICY_READ', () => {
    expect(() => loadPolicy(join(DIR, 'does-not-exist.yaml'))).toThrow(
      expect.objectContaining({ code: 'ERR_POLICY_READ' }),
    );
  });

  it('refuses YAML aliases (no billion laughs) and duplicate keys', () => {
    const aliases = 'version: 1\nroles: &r []\ntools: *r\n';
    expect(() => parsePolicy(aliases, 'a.yaml')).toThrow(
      expect.objectContaining({ code: 'ERR_POLICY_INVALID' }),
    );
    const dup = 'version: 1\nversion: 1\nroles: []\ntools: []\n';
    expect(() => parsePolicy(dup, 'd.yaml')).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
  });

  it('throws only PolicyError ERR_POLICY_INVALID on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parsePolicy(text, 'fuzz.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(PolicyError);
          expect((err as PolicyError).code).toBe('ERR_POLICY_INVALID');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('throws only PolicyError on mutated valid documents', () => {
    const valid = readFileSync(join(DIR, 'wrong-type.policy'), 'utf8').replace('"60"', '60');
    expect(() => parsePolicy(valid, 'v.yaml')).not.toThrow();
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.string({ maxLength: 3 }), (at, insert) => {
        const text = valid.slice(0, at) + insert + valid.slice(at + 1);
        try {
          parsePolicy(text, 'm.yaml');
        } catch (err) {
          expect((err as PolicyError).code).toBe('ERR_POLICY_INVALID');
        }
      }),
      { numRuns: 300 },
    );
  });
});
