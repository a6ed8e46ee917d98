import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  /** `join(path, ...parts)`. */
  join(...parts: string[]): string;
  /** Removes the directory and everything in it. */
  remove(): void;
}

export interface TempDirOptions {
  /**
   * Parent directory. Default: the system's temporary directory. Use /run (root-owned, 0755) for files
   * sshd reads with StrictModes or that device accounts must reach: /tmp is world-writable (1777).
   */
  readonly under?: string;
  /** Mode of the directory. Default 0700 (mkdtemp's). 0755 lets the device accounts traverse it. */
  readonly mode?: number;
}

/** A fresh directory `netward-<prefix>-XXXXXX`, removed by `remove()`. */
export function tempDir(prefix: string, options: TempDirOptions = {}): TempDir {
  const path = mkdtempSync(join(options.under ?? tmpdir(), `netward-${prefix}-`));
  if (options.mode !== undefined) chmodSync(path, options.mode);
  return {
    path,
    join: (...parts) => join(path, ...parts),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}
