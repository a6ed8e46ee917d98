import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FC_ERRORS, type ForceCommandErrorCode } from '../src/errors.ts';
import { CONFIGS, runInProcess } from './helpers.ts';

interface Input {
  role: string;
  command: string;
  device?: 'frr' | 'vyos';
  /** default (the shipped grammar policy) unless the case is about the design's rules. */
  policy?: 'default' | 'design';
}
interface Expected {
  verdict: 'permit' | 'deny';
  stage?: string;
  code?: ForceCommandErrorCode;
  argv?: string[];
  requests?: string[];
  note?: string;
  /** For a permit under the default policy: the grammar entries that admitted each request. */
  grammar?: unknown;
}

const root = join(import.meta.dirname, 'fixtures');
const cases = readdirSync(root).sort();

describe('golden fixtures', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(50);
  });
  for (const name of cases) {
    it(name, async () => {
      const input = JSON.parse(readFileSync(join(root, name, 'input.json'), 'utf8')) as Input;
      const expected = JSON.parse(readFileSync(join(root, name, 'expected.json'), 'utf8')) as Expected;
      const r = await runInProcess({
        command: input.command,
        role: input.role,
        device: input.device ?? 'frr',
        policy: input.policy ?? 'default',
      });
      const decision = r.audit.records[0]?.fields;
      expect(decision?.['decision']).toBe(expected.verdict);
      if (expected.verdict === 'deny') {
        expect(decision?.['code']).toBe(expected.code);
        expect(decision?.['stage']).toBe(expected.stage);
        expect(r.status).toBe(FC_ERRORS[expected.code as ForceCommandErrorCode].exit);
        expect(r.calls).toEqual([]);
        expect(r.stderr).toContain(`(${expected.code})`);
      } else {
        expect(r.status).toBe(0);
        expect(r.calls).toHaveLength(1);
        const call = r.calls[0];
        const allowed = Object.values(CONFIGS[input.device ?? 'frr'].executables).map((e) => e.path);
        expect(allowed).toContain(call?.file);
        if (expected.argv) expect([call?.file, ...(call?.args ?? [])]).toEqual(expected.argv);
        if (expected.grammar) {
          expect(decision?.['grammar']).toEqual(expected.grammar);
        }
        if (expected.requests) {
          expect((decision?.['normalized'] as { requests?: string[] } | undefined)?.requests).toEqual(
            expected.requests,
          );
        }
      }
    });
  }
});
