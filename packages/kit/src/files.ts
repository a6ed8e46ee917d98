/**
 * Private files: keys, shared secrets, token files. A credential another account can read is a leaked
 * credential, and one another account can write is a planted one, so every such file is checked the
 * way OpenSSH checks a private key (sshkey_perm_ok: nothing for group or others), on the descriptor that
 * is then read (the file checked is the file read), opened with O_NOFOLLOW (a symlink put in its place
 * is refused, not followed). Messages name the file and the problem, never the content.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { KitError } from './errors.ts';

export interface PrivateFileOptions {
  /** What the file is, for messages: `CA key`, `TACACS+ key`. Default `private file`. */
  readonly what?: string;
  /**
   * The uid that must own the file. Default: this process's uid or root (a root-owned 0600 file is
   * what a service started by root reads; a file another account owns could be rewritten by it).
   */
  readonly owner?: number;
  /**
   * A group whose members may read the file (root:<gid> 0640): the device accounts read the TACACS+ key
   * through their common group when no authorization agent holds it. Group write is still refused.
   * Default: no group access at all (0600 or 0400).
   */
  readonly groupReadable?: number;
}

function unsafe(path: string, what: string, problem: string): KitError {
  return new KitError('ERR_KIT_FILE_UNSAFE', `${what} ${path} ${problem}`, {
    file: path,
    detail: { file: path, problem },
  });
}

/** Throws ERR_KIT_FILE_UNSAFE when `st` (of `path`) is not a private regular file per `options`. */
export function assertPrivate(path: string, st: Stats, options: PrivateFileOptions = {}): void {
  const what = options.what ?? 'private file';
  if (st.isSymbolicLink()) throw unsafe(path, what, 'is a symbolic link');
  if (!st.isFile()) throw unsafe(path, what, 'is not a regular file');
  const uid = process.getuid?.() ?? 0;
  const owners = options.owner === undefined ? [uid, 0] : [options.owner];
  if (!owners.includes(st.uid)) throw unsafe(path, what, `is owned by uid ${st.uid}`);
  const mode = st.mode & 0o777;
  const groupRead = options.groupReadable !== undefined && (st.gid === options.groupReadable || st.gid === 0);
  const forbidden = groupRead ? 0o037 : 0o077;
  if ((mode & forbidden) !== 0) {
    throw unsafe(
      path,
      what,
      `is accessible by ${groupRead ? 'others or writable by its group' : 'group or others'} (mode ${mode.toString(8)}); chmod ${groupRead ? '640' : '600'} it`,
    );
  }
}

/** Checks a private file without reading it (lstat: a symlink is refused, not followed). */
export function checkPrivateFile(path: string, options: PrivateFileOptions = {}): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (cause) {
    throw new KitError('ERR_KIT_FILE_READ', `cannot read ${options.what ?? 'private file'} ${path}`, {
      cause,
      file: path,
    });
  }
  assertPrivate(path, st, options);
}

/** Opens, checks (on the descriptor) and reads a private file. */
export function readPrivateFile(path: string, options: PrivateFileOptions = {}): Buffer {
  const what = options.what ?? 'private file';
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`${what} path must be a non-empty string`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    // ELOOP: the last component is a symlink, which O_NOFOLLOW refuses.
    if ((cause as { code?: string }).code === 'ELOOP') throw unsafe(path, what, 'is a symbolic link');
    throw new KitError('ERR_KIT_FILE_READ', `cannot open ${what} ${path}`, { cause, file: path });
  }
  try {
    assertPrivate(path, fstatSync(fd), options);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A secret's bytes minus one trailing newline ("\n" or "\r\n"), so that `echo secret > file` works. */
export function stripNewline(bytes: Buffer): Buffer {
  if (bytes.at(-1) !== 0x0a) return bytes;
  return bytes.subarray(0, bytes.at(-2) === 0x0d ? -2 : -1);
}
