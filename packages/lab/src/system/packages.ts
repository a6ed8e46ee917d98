import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../errors.ts';

/**
 * The monorepo root, found by walking up from this module until `packages/lab/package.json` appears:
 * works from the sources (tests) and from the bundle in packages/lab/dist alike.
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'packages', 'lab', 'package.json'))) return dir;
    const up = resolve(dir, '..');
    if (up === dir) break;
    dir = up;
  }
  throw new LabError('ERR_LAB_MISSING_PEER', 'cannot find the netward repository root from the lab program');
}

/** Path of a built program of a workspace package; a clear error when `pnpm build` has not run. */
export function programPath(pkg: string, file: string): string {
  const path = join(repoRoot(), 'packages', pkg, 'dist', file);
  if (!existsSync(path)) {
    throw new LabError(
      'ERR_LAB_MISSING_PEER',
      `${path} is missing: run \`pnpm build\` at the repository root first`,
    );
  }
  return path;
}

export function packageFile(pkg: string, ...parts: string[]): string {
  return join(repoRoot(), 'packages', pkg, ...parts);
}

/** Where a program will be once built (no check: service definitions are computed before it matters). */
export function programPathLazy(pkg: string, file: string): string {
  return join(repoRoot(), 'packages', pkg, 'dist', file);
}
