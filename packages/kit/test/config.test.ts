import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as zm from 'zod/mini';
import {
  deepFreeze,
  formatIssue,
  KitError,
  loadConfigFile,
  parseConfig,
  parseConfigText,
  validateConfig,
  withKitErrors,
} from '../src/index.ts';
import { tempDir } from '../src/testing/index.ts';

const dir = tempDir('kit-config');
afterAll(() => dir.remove());

const schema = z.strictObject({
  listen: z.strictObject({ host: z.string().default('127.0.0.1'), port: z.int().min(1).max(65535) }),
  names: z.array(z.string().min(1)).default([]),
});

function kitError(fn: () => unknown): KitError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KitError) return e;
    throw e;
  }
  throw new Error('expected a KitError');
}

describe('loadConfigFile', () => {
  it('reads YAML and JSON into the same deeply frozen object', () => {
    const yaml = dir.join('a.yaml');
    writeFileSync(yaml, 'listen:\n  port: 8200\nnames: [a, b]\n');
    const json = dir.join('a.json');
    writeFileSync(json, '{"listen": {"port": 8200}, "names": ["a", "b"]}');
    const a = loadConfigFile(yaml, schema);
    expect(a).toEqual({ listen: { host: '127.0.0.1', port: 8200 }, names: ['a', 'b'] });
    expect(loadConfigFile(json, schema)).toEqual(a);
    expect(Object.isFrozen(a.listen)).toBe(true);
    expect(Object.isFrozen(a.names)).toBe(true);
  });

  it('names file, path, expectation, line and column of every issue, in file order', () => {
    const file = dir.join('b.yaml');
    writeFileSync(file, 'names:\n  - ""\nlisten:\n  port: 0\n  hots: x\n');
    const e = kitError(() => loadConfigFile(file, schema));
    expect(e.code).toBe('ERR_KIT_CONFIG_INVALID');
    expect(e.issues).toEqual([
      { path: 'names[0]', line: 2, column: 5, message: 'expected at least 1 character(s)' },
      { path: 'listen.port', line: 4, column: 9, message: 'expected a number >= 1' },
      {
        path: 'listen',
        line: 5,
        column: 3,
        message: 'unknown key "hots" (expected only the documented keys)',
      },
    ]);
    expect(e.message).toContain(`${file}: listen.port: expected a number >= 1 (4:9)`);
    expect(formatIssue({ path: '', message: 'expected object' })).toBe('(root): expected object');
  });

  it('refuses duplicate keys, custom tags, aliases and merge keys, with their line', () => {
    const cases: [string, string, number][] = [
      ['duplicate key', 'listen:\n  port: 1\n  port: 2\n', 3],
      ['custom tag', 'listen: !!js/function "f"\n', 1],
      ['local tag', 'listen: !thing {port: 1}\n', 1],
      ['alias', 'a: &x {port: 1}\nlisten: *x\n', 0],
      ['merge key', 'base: &b {port: 1}\nlisten:\n  <<: *b\n', 0],
      ['not YAML', 'listen: [1,\n', 2],
    ];
    for (const [name, text, line] of cases) {
      const e = kitError(() => parseConfig(schema, text, `${name}.yaml`));
      expect(e.code, name).toBe('ERR_KIT_CONFIG_SYNTAX');
      expect(e.issues.length, name).toBeGreaterThan(0);
      if (line > 0) expect(e.issues[0]?.line, name).toBe(line);
      expect(e.message, name).toContain(`${name}.yaml: (root): YAML:`);
    }
  });

  it('keeps YAML 1.2 core scalars: no dates, no sexagesimal numbers, no yes/no booleans', () => {
    const { value } = parseConfigText('a: 2026-12-05\nb: 1:30\nc: yes\nd: 0x1f\n');
    expect(value).toEqual({ a: '2026-12-05', b: '1:30', c: 'yes', d: 31 });
  });

  it('refuses a file larger than the limit before parsing it, and a missing file', () => {
    const file = dir.join('big.yaml');
    writeFileSync(file, `names: [${'"x",'.repeat(100)}"x"]\n`);
    expect(kitError(() => loadConfigFile(file, schema, { maxBytes: 64 })).code).toBe(
      'ERR_KIT_CONFIG_TOO_LARGE',
    );
    expect(kitError(() => loadConfigFile(dir.join('missing.yaml'), schema)).code).toBe('ERR_KIT_CONFIG_READ');
    expect(kitError(() => loadConfigFile(dir.path, schema)).code).toBe('ERR_KIT_CONFIG_READ');
  });

  it('validates with zod/mini schemas too (the validator uses them for its start time)', () => {
    const mini = zm.strictObject({ port: zm.number().check(zm.int(), zm.gte(1)) });
    expect(validateConfig(mini, { port: 22 })).toEqual({ port: 22 });
    const e = kitError(() => validateConfig(mini, { port: 0, x: 1 }, { source: 'm.json' }));
    expect(e.issues.map((i) => i.path)).toEqual(['', 'port']);
    expect(e.message).toContain('m.json: port: expected a number >= 1');
  });
});

describe('deepFreeze', () => {
  it('freezes every level and leaves Buffers usable', () => {
    const v = deepFreeze({ a: [{ b: 1 }], key: Buffer.from('k') });
    expect(Object.isFrozen(v.a[0])).toBe(true);
    expect(() => {
      (v.a[0] as { b: number }).b = 2;
    }).toThrow(TypeError);
    expect(v.key.toString()).toBe('k');
  });
});

describe('withKitErrors', () => {
  it("turns a KitError into the caller's own error and lets anything else through", () => {
    class PkgError extends Error {}
    const wrap = (e: KitError) => new PkgError(`pkg: ${e.message}`, { cause: e });
    const caught = (() => {
      try {
        withKitErrors(() => parseConfig(schema, 'listen: [', 'w.yaml'), wrap);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(caught).toBeInstanceOf(PkgError);
    expect(((caught as PkgError).cause as KitError).code).toBe('ERR_KIT_CONFIG_SYNTAX');
    const plain = new RangeError('not a kit error');
    expect(() =>
      withKitErrors(() => {
        throw plain;
      }, wrap),
    ).toThrow(plain);
    expect(withKitErrors(() => 42, wrap)).toBe(42);
  });
});
