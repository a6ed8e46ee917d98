// The repository as the structure checks see it: its workspace packages and its source files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const SKIP = new Set(['node_modules', 'dist', '.cache', '.git', 'fixtures']);
const SOURCE = /\.(?:ts|mts|cts|js|mjs|cjs)$/;

/** Every source file below `dir` (relative to the root), without dependencies, builds and fixtures. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const name of readdirSync(abs)) {
      if (SKIP.has(name)) continue;
      const path = join(abs, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(relative(ROOT, path));
    }
  };
  if (existsSync(join(ROOT, dir))) walk(join(ROOT, dir));
  return out.sort();
}

/** The directories pnpm-workspace.yaml names (its `packages:` globs, one `*` at the end at most). */
export function workspaceDirs(): string[] {
  const yaml = readFileSync(join(ROOT, 'pnpm-workspace.yaml'), 'utf8');
  const block = /^packages:\n((?:\s+-\s.*\n)+)/m.exec(yaml)?.[1] ?? '';
  const globs = [...block.matchAll(/-\s+["']?([^"'\n]+)["']?/g)].map((m) => (m[1] as string).trim());
  return globs
    .flatMap((g) =>
      g.endsWith('/*')
        ? readdirSync(join(ROOT, g.slice(0, -2)))
            .map((d) => `${g.slice(0, -2)}/${d}`)
            .filter((d) => existsSync(join(ROOT, d, 'package.json')))
        : [g],
    )
    .sort();
}

/** The workspace package directory a root-relative path lies in, if any. */
export function packageOf(path: string, dirs: readonly string[]): string | undefined {
  const p = path.split(sep).join('/');
  return dirs.find((d) => p === d || p.startsWith(`${d}/`));
}
