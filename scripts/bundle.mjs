#!/usr/bin/env node
// Bundles a package's programs and library entries into its dist/ with esbuild, from TypeScript source,
// and writes the type declarations of the library entries.
//
//   node ../../scripts/bundle.mjs [--self-contained] [src/cli.ts[=name] ...]      (as a package's build script)
//
// Programs are the entries given on the command line. Library entries are read from package.json
// `exports`: every subpath whose `default` is a file in dist/ is built from its `netward-source` file, and
// its `types` file (under dist/types/) is written with the TypeScript compiler. A package is thereby
// importable without the netward-source condition, by another package or from a packed tarball.
//
// Workspace packages (@netward/*) are always compiled in from source, and their declarations are written
// beside the package's own, with the import specifiers rewritten to point at them: a consumer needs
// none of the private workspace packages. Other dependencies (peer dependencies too: a testing entry's
// esbuild is the caller's) stay external and are loaded from node_modules at run time, unless
// --self-contained is given: then everything is in the one file, which is what a program started once
// per SSH command wants (no module resolution walk).
import { readFileSync, rmSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { build } from 'esbuild';
import { emitDeclarations } from './declarations.mjs';

const args = process.argv.slice(2);
const selfContained = args.includes('--self-contained');
const programs = args.filter((a) => !a.startsWith('--'));

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const external = selfContained
  ? []
  : Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies }).filter(
      (d) => !d.startsWith('@netward/'),
    );

// Library entries are built by the package's `build` script (pnpm sets npm_lifecycle_event), or when no
// program is named. A direct call naming programs builds only those: tests that rebuild a program (the
// validator's bundle) need not wait for the declarations.
const withLibraries = process.env.npm_lifecycle_event === 'build' || programs.length === 0;
/** [source, outfile, types] of each library entry in `exports` that points into dist/. */
const libraries = Object.values(withLibraries ? (pkg.exports ?? {}) : {})
  .filter((e) => typeof e === 'object' && typeof e.default === 'string' && e.default.startsWith('./dist/'))
  .map((e) => [e['netward-source'], e.default.slice(2), e.types]);
for (const [source, , types] of libraries) {
  if (typeof source !== 'string' || typeof types !== 'string' || !types.startsWith('./dist/types/')) {
    console.error(
      `bundle.mjs: exports entry for ${source}: needs netward-source and types under ./dist/types/`,
    );
    process.exit(2);
  }
}
if (programs.length === 0 && libraries.length === 0) {
  console.error(
    'usage: bundle.mjs [--self-contained] src/entry.ts[=name] ... (or library entries in exports)',
  );
  process.exit(2);
}

const entries = [
  ...programs.map((p) => {
    const [file, name = basename(file, extname(file))] = p.split('=');
    return [file, `dist/${name}.js`];
  }),
  ...libraries.map(([source, outfile]) => [source, outfile]),
];
const seen = new Set();
for (const [file, outfile] of entries) {
  if (seen.has(outfile)) continue;
  seen.add(outfile);
  await build({
    entryPoints: [file],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    conditions: ['netward-source'],
    external: external.flatMap((d) => [d, `${d}/*`]),
    // CommonJS dependencies compiled into an ES module still call require().
    banner: {
      js: "import { createRequire as __netwardCreateRequire } from 'node:module';\nconst require = __netwardCreateRequire(import.meta.url);",
    },
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

if (libraries.length > 0) {
  rmSync('dist/types', { recursive: true, force: true });
  emitDeclarations(
    resolve('.'),
    libraries.map(([source]) => source),
  );
}
