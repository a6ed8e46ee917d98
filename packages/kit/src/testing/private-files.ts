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

function write(dir: TempDir, name: string, mode: number): string {
  const p = dir.join(name);
  writeFileSync(p, PRIVATE_CONTENT);
  chmodSync(p, mode);
  return p;
}

/** Files every reader of private files accepts: this process's own, 0600 and 0400. */
export function acceptedPrivateFiles(dir: TempDir, tag: string): PrivateFileCase[] {
  return [0o600, 0o400].map((mode) => ({
    what: `mode ${mode.toString(8)}`,
    path: write(dir, `${tag}-ok-${mode.toString(8)}`, mode),
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
    path: write(dir, `${tag}-m${mode.toString(8)}`, mode),
    mode,
  }));
  const link = dir.join(`${tag}-link`);
  symlinkSync(write(dir, `${tag}-target`, 0o600), link);
  const sub = dir.join(`${tag}-dir`);
  mkdirSync(sub, { mode: 0o700 });
  const foreign = write(dir, `${tag}-foreign`, 0o600);
  chownSync(foreign, 4242, 0);
  return [
    ...modes,
    { what: 'a symlink to a 0600 file', path: link },
    { what: 'a directory', path: sub },
    { what: 'a file of uid 4242', path: foreign },
  ];
}
