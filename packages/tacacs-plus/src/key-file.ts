import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { TacacsError } from './errors.ts';

/**
 * Reads a TACACS+ shared key from a file: the whole content, minus one trailing newline ("\n" or
 * "\r\n") so that `echo secret > file` works. A file that group or others can read is refused, as
 * OpenSSH refuses such private keys: a shared key is a credential. The key never appears in an error.
 */
export function readKeyFile(path: string): Buffer {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError('key file path must be a non-empty string');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new TacacsError('ERR_TACACS_KEY_FILE', `cannot open key file ${path}`, { cause });
  }
  try {
    // fstat on the opened descriptor: the file checked is the file read.
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TacacsError('ERR_TACACS_KEY_FILE', `key file ${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new TacacsError(
        'ERR_TACACS_KEY_FILE',
        `key file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
      );
    }
    let key = readFileSync(fd);
    if (key.length >= 2 && key[key.length - 2] === 0x0d && key[key.length - 1] === 0x0a)
      key = key.subarray(0, -2);
    else if (key.length >= 1 && key[key.length - 1] === 0x0a) key = key.subarray(0, -1);
    if (key.length === 0) throw new TacacsError('ERR_TACACS_KEY_FILE', `key file ${path} is empty`);
    return Buffer.from(key);
  } finally {
    closeSync(fd);
  }
}
