import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import type { TempDir } from './temp.ts';

/** What every fixture holds: a refusal's message must never carry it. */
export const PRIVATE_CONTENT = 'topsecret\n';

/** One file a private-file reader is given; `mode` is set where the case is about the mode alone. */
export interface PrivateFileCase {
  readonly what: string;
  readonly path: string;
  readonly mode?: number;
}

/** Modes that give group or others any access (OpenSSH's sshkey_perm_ok refuses each). */
const UNSAFE_MODES = [0o640, 0o604, 0o644, 0o620, 0o602, 0o610, 0o601, 0o660] as const;

/** `dir/name` written with `content` and set to `mode` (chmod, not the umask's say). */
export function privateFile(
  dir: TempDir,
  name: string,
  content: string | Buffer = PRIVATE_CONTENT,
  mode = 0o600,
): string {
  const p = dir.join(name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
}

/** Files every reader of private files accepts: this process's own, 0600 and 0400. */
export function acceptedPrivateFiles(dir: TempDir, tag: string): PrivateFileCase[] {
  return [0o600, 0o400].map((mode) => ({
    what: `mode ${mode.toString(8)}`,
    path: privateFile(dir, `${tag}-ok-${mode.toString(8)}`, PRIVATE_CONTENT, mode),
  }));
}

/**
 * Files every reader of private files refuses as unsafe, made in `dir` (names start with `tag`): any
 * access for group or others, a symlink (even to a private file), a directory, a file of another owner.
 * The last needs root (chown): callers check with `requireRoot` first.
 */
export function unsafePrivateFiles(dir: TempDir, tag: string): PrivateFileCase[] {
  const modes = UNSAFE_MODES.map((mode) => ({
    what: `mode ${mode.toString(8)}`,
    path: privateFile(dir, `${tag}-m${mode.toString(8)}`, PRIVATE_CONTENT, mode),
    mode,
  }));
  const link = dir.join(`${tag}-link`);
  symlinkSync(privateFile(dir, `${tag}-target`), link);
  const sub = dir.join(`${tag}-dir`);
  mkdirSync(sub, { mode: 0o700 });
  const foreign = privateFile(dir, `${tag}-foreign`);
  chownSync(foreign, 4242, 0);
  return [
    ...modes,
    { what: 'a symlink to a 0600 file', path: link },
    { what: 'a directory', path: sub },
    { what: 'a file of uid 4242', path: foreign },
  ];
}
