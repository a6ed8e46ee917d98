#!/usr/bin/env node
// Bundles a package's programs into its dist/ with esbuild, from TypeScript source.
//
//   node ../../scripts/bundle.mjs [--self-contained] src/cli.ts[=name] ...
//
// Workspace packages (@netward/*) are always compiled in from source. Other dependencies stay external
// and are loaded from node_modules at run time, unless --self-contained is given: then everything is in
// the one file, which is what a program started once per SSH command wants (no module resolution walk).
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { build } from 'esbuild';

const args = process.argv.slice(2);
const selfContained = args.includes('--self-contained');
const entries = args.filter((a) => !a.startsWith('--'));
if (entries.length === 0) {
  console.error('usage: bundle.mjs [--self-contained] src/entry.ts[=name] ...');
  process.exit(2);
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const external = selfContained
  ? []
  : Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter(
      (d) => !d.startsWith('@netward/'),
    );

for (const entry of entries) {
  const [file, name = basename(file, extname(file))] = entry.split('=');
  await build({
    entryPoints: [file],
    outfile: `dist/${name}.js`,
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
