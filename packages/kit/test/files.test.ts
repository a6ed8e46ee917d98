import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPrivateFile, KitError, readPrivateFile, stripNewline } from '../src/files-entry.ts';
import { requireRoot, tempDir } from '../src/testing/index.ts';

const dir = tempDir('kit-files');
beforeAll(() => requireRoot('private files (chown)'));
afterAll(() => dir.remove());

function file(name: string, mode: number, content = 'topsecret\n'): string {
  const p = dir.join(name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof KitError) return e.code;
    throw e;
  }
  return undefined;
}

describe('private files', () => {
  it('reads 0600 and 0400 files owned by this process', () => {
    expect(readPrivateFile(file('a', 0o600)).toString()).toBe('topsecret\n');
    expect(readPrivateFile(file('b', 0o400)).toString()).toBe('topsecret\n');
    expect(codeOf(() => checkPrivateFile(dir.join('a')))).toBeUndefined();
  });

  it('refuses any access for group or others, without the content in the message', () => {
    for (const mode of [0o640, 0o604, 0o644, 0o620, 0o602, 0o610, 0o601]) {
      const p = file(`m${mode.toString(8)}`, mode);
      for (const fn of [() => readPrivateFile(p, { what: 'CA key' }), () => checkPrivateFile(p)]) {
        try {
          fn();
          expect.unreachable(`mode ${mode.toString(8)} accepted`);
        } catch (e) {
          expect((e as KitError).code).toBe('ERR_KIT_FILE_UNSAFE');
          expect((e as Error).message).toContain(`mode ${mode.toString(8)}`);
          expect((e as Error).message).not.toContain('topsecret');
        }
      }
    }
  });

  it('refuses a symlink (even to a private file), a directory, a foreign owner', () => {
    const target = file('target', 0o600);
    symlinkSync(target, dir.join('link'));
    expect(codeOf(() => readPrivateFile(dir.join('link')))).toBe('ERR_KIT_FILE_UNSAFE');
    expect(codeOf(() => checkPrivateFile(dir.join('link')))).toBe('ERR_KIT_FILE_UNSAFE');
    mkdirSync(dir.join('sub'), { mode: 0o700 });
    expect(codeOf(() => readPrivateFile(dir.join('sub')))).toBe('ERR_KIT_FILE_UNSAFE');
    const foreign = file('foreign', 0o600);
    chownSync(foreign, 4242, 0);
    expect(codeOf(() => readPrivateFile(foreign))).toBe('ERR_KIT_FILE_UNSAFE');
    expect(readPrivateFile(foreign, { owner: 4242 }).toString()).toBe('topsecret\n');
    expect(codeOf(() => readPrivateFile(dir.join('missing')))).toBe('ERR_KIT_FILE_READ');
    expect(() => readPrivateFile('')).toThrow(TypeError);
  });

  it('lets one group read (root:<gid> 0640) when asked, never write', () => {
    const p = file('shared', 0o640);
    chownSync(p, 0, 995);
    expect(readPrivateFile(p, { owner: 0, groupReadable: 995 }).toString()).toBe('topsecret\n');
    expect(codeOf(() => readPrivateFile(p, { owner: 0, groupReadable: 4242 }))).toBe('ERR_KIT_FILE_UNSAFE');
    chmodSync(p, 0o660);
    expect(codeOf(() => readPrivateFile(p, { owner: 0, groupReadable: 995 }))).toBe('ERR_KIT_FILE_UNSAFE');
    chmodSync(p, 0o644);
    expect(codeOf(() => readPrivateFile(p, { owner: 0, groupReadable: 995 }))).toBe('ERR_KIT_FILE_UNSAFE');
  });

  it('strips exactly one trailing newline', () => {
    expect(stripNewline(Buffer.from('k\n')).toString()).toBe('k');
    expect(stripNewline(Buffer.from('k\r\n')).toString()).toBe('k');
    expect(stripNewline(Buffer.from('k\n\n')).toString()).toBe('k\n');
    expect(stripNewline(Buffer.from(' k ')).toString()).toBe(' k ');
  });
});
