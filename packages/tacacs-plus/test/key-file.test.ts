import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readKeyFile, TacacsError } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'tacacs-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer, mode = 0o600): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof TacacsError) return e.code;
    throw e;
  }
  return undefined;
}

describe('readKeyFile', () => {
  it('reads the key and trims exactly one trailing newline', () => {
    expect(readKeyFile(file('a', 'labsecret\n')).toString()).toBe('labsecret');
    expect(readKeyFile(file('b', 'labsecret\r\n')).toString()).toBe('labsecret');
    expect(readKeyFile(file('c', 'labsecret\n\n')).toString()).toBe('labsecret\n');
    expect(readKeyFile(file('d', ' spaced key ')).toString()).toBe(' spaced key ');
    expect(readKeyFile(file('e', 'x', 0o400)).toString()).toBe('x');
  });

  it('refuses files readable or writable by group or others, without naming the key', () => {
    for (const mode of [0o640, 0o604, 0o644, 0o620, 0o660]) {
      const p = file(`m${mode.toString(8)}`, 'topsecretkey\n', mode);
      expect(codeOf(() => readKeyFile(p))).toBe('ERR_TACACS_KEY_FILE');
      try {
        readKeyFile(p);
      } catch (e) {
        expect((e as Error).message).not.toContain('topsecretkey');
      }
    }
  });

  it('refuses a missing file, an empty key, a directory', () => {
    expect(codeOf(() => readKeyFile(join(dir, 'missing')))).toBe('ERR_TACACS_KEY_FILE');
    expect(codeOf(() => readKeyFile(file('empty', '\n')))).toBe('ERR_TACACS_KEY_FILE');
    const sub = join(dir, 'sub');
    mkdirSync(sub, { mode: 0o700 });
    expect(codeOf(() => readKeyFile(sub))).toBe('ERR_TACACS_KEY_FILE');
    expect(() => readKeyFile('')).toThrow(TypeError);
  });
});
