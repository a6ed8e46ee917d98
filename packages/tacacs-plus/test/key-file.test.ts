import {
  acceptedPrivateFiles,
  PRIVATE_CONTENT,
  privateFile,
  requireRoot,
  tempDir,
  thrownCode,
  unsafePrivateFiles,
} from '@netward/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readKeyFile, TacacsError } from '../src/index.ts';

// The private-file checks themselves are the kit's (packages/kit/test/files.test.ts); here, that the
// key reader applies them to every such file, answers with its own code, and trims the key.
const dir = tempDir('tacacs-key');
beforeAll(() => requireRoot('key files (chown)'));
afterAll(() => dir.remove());

const codeOf = (fn: () => unknown) => thrownCode(fn, TacacsError);

describe('readKeyFile', () => {
  it('reads the key and trims exactly one trailing newline', () => {
    expect(readKeyFile(privateFile(dir, 'a', 'labsecret\n')).toString()).toBe('labsecret');
    expect(readKeyFile(privateFile(dir, 'b', 'labsecret\r\n')).toString()).toBe('labsecret');
    expect(readKeyFile(privateFile(dir, 'c', 'labsecret\n\n')).toString()).toBe('labsecret\n');
    expect(readKeyFile(privateFile(dir, 'd', ' spaced key ')).toString()).toBe(' spaced key ');
    expect(readKeyFile(privateFile(dir, 'e', 'x', 0o400)).toString()).toBe('x');
    for (const c of acceptedPrivateFiles(dir, 'accepted'))
      expect(readKeyFile(c.path).toString(), c.what).toBe(PRIVATE_CONTENT.trim());
  });

  it('refuses every file the kit finds unsafe (group or others, symlink, directory, owner), without naming the key', () => {
    for (const c of unsafePrivateFiles(dir, 'unsafe')) {
      expect(
        codeOf(() => readKeyFile(c.path)),
        c.what,
      ).toBe('ERR_TACACS_KEY_FILE');
      try {
        readKeyFile(c.path);
      } catch (e) {
        expect((e as Error).message).not.toContain(PRIVATE_CONTENT.trim());
      }
    }
  });

  it('refuses a missing file, an empty key, an empty path', () => {
    expect(codeOf(() => readKeyFile(dir.join('missing')))).toBe('ERR_TACACS_KEY_FILE');
    expect(codeOf(() => readKeyFile(privateFile(dir, 'empty', '\n')))).toBe('ERR_TACACS_KEY_FILE');
    expect(() => readKeyFile('')).toThrow(TypeError);
  });
});
