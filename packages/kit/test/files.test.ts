import { chmodSync, chownSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPrivateFile, KitError, readPrivateFile, stripNewline } from '../src/files-entry.ts';
import {
  acceptedPrivateFiles,
  PRIVATE_CONTENT,
  privateFile,
  requireRoot,
  tempDir,
  thrownCode,
  unsafePrivateFiles,
} from '../src/testing/index.ts';

const dir = tempDir('kit-files');
beforeAll(() => requireRoot('private files (chown)'));
afterAll(() => dir.remove());

const codeOf = (fn: () => unknown) => thrownCode(fn, KitError);

describe('private files', () => {
  it('reads 0600 and 0400 files owned by this process', () => {
    for (const c of acceptedPrivateFiles(dir, 'accepted')) {
      expect(readPrivateFile(c.path).toString(), c.what).toBe(PRIVATE_CONTENT);
      expect(
        codeOf(() => checkPrivateFile(c.path)),
        c.what,
      ).toBeUndefined();
    }
  });

  it('refuses any access for group or others, a symlink, a directory, a foreign owner, without the content in the message', () => {
    for (const c of unsafePrivateFiles(dir, 'unsafe')) {
      for (const fn of [() => readPrivateFile(c.path, { what: 'CA key' }), () => checkPrivateFile(c.path)]) {
        try {
          fn();
          expect.unreachable(`${c.what} accepted`);
        } catch (e) {
          expect((e as KitError).code, c.what).toBe('ERR_KIT_FILE_UNSAFE');
          if (c.mode !== undefined) expect((e as Error).message).toContain(`mode ${c.mode.toString(8)}`);
          expect((e as Error).message).not.toContain(PRIVATE_CONTENT.trim());
        }
      }
    }
  });

  it("reads a foreign owner's file when that owner is named; refuses a missing file and an empty path", () => {
    const foreign = privateFile(dir, 'foreign');
    chownSync(foreign, 4242, 0);
    expect(readPrivateFile(foreign, { owner: 4242 }).toString()).toBe(PRIVATE_CONTENT);
    expect(codeOf(() => readPrivateFile(dir.join('missing')))).toBe('ERR_KIT_FILE_READ');
    expect(() => readPrivateFile('')).toThrow(TypeError);
  });

  it('lets one group read (root:<gid> 0640) when asked, never write', () => {
    const p = privateFile(dir, 'shared', PRIVATE_CONTENT, 0o640);
    chownSync(p, 0, 995);
    expect(readPrivateFile(p, { owner: 0, groupReadable: 995 }).toString()).toBe(PRIVATE_CONTENT);
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
