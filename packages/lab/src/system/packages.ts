import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../errors.ts';

/**
 * The monorepo root, found by walking up from this module until `packages/lab/package.json` appears:
 * works from the sources (tests) and from the bundle in packages/lab/dist alike. Only for what belongs
 * to the checkout itself (the download cache, the compose lab's files), never to find a program.
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

interface Manifest {
  readonly name?: string;
  readonly bin?: string | Record<string, string>;
}

function manifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/**
 * The directory of a package the lab uses, found as Node's resolution finds a dependency (the nearest
 * `node_modules/<name>` upwards from this module), or the lab's own: no assumption about the checkout's
 * layout. Read from package.json, which no package lists in its `exports`.
 */
export function packageDir(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (manifest(dir)?.name === name) return dir;
    const candidate = join(dir, 'node_modules', name);
    if (manifest(candidate)?.name === name) return realpathSync(candidate);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new LabError('ERR_LAB_MISSING_PEER', `${name} is not installed beside the lab: run pnpm install`);
}

/** Where a package's program `bin` will be once built (no check: service definitions come first). */
export function programPathLazy(name: string, bin: string): string {
  const dir = packageDir(name);
  const { bin: bins } = manifest(dir) ?? {};
  const file = typeof bins === 'string' ? bins : bins?.[bin];
  if (file === undefined) throw new LabError('ERR_LAB_MISSING_PEER', `${name} has no program ${bin}`);
  return join(dir, file);
}

/** A package's built program `bin`; a clear error when `pnpm build` has not run. */
export function programPath(name: string, bin: string): string {
  const path = programPathLazy(name, bin);
  if (!existsSync(path)) {
    throw new LabError(
      'ERR_LAB_MISSING_PEER',
      `${path} is missing: run \`pnpm build\` at the repository root first`,
    );
  }
  return path;
}

/** A file a package ships (its package.json `files`), such as the policy package's policies. */
export function packageFile(name: string, ...parts: string[]): string {
  return join(packageDir(name), ...parts);
}
