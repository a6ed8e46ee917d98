#!/usr/bin/env node
// Prints the dependency graph of the workspace packages as a mermaid block, read from each package.json
// (`dependencies` as solid arrows, `devDependencies` on a workspace package as dotted ones). The README's
// architecture section carries this output; test/structure/structure.test.ts fails when they differ.
//
//   node scripts/architecture.mjs
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The directories pnpm-workspace.yaml lists (`dir` or `dir/*`), the end-to-end suite (test/) left out. */
function workspaceDirs() {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const block = /^packages:\n((?:\s+-\s.*\n)+)/m.exec(yaml)?.[1] ?? '';
  const globs = [...block.matchAll(/-\s+["']?([^"'\n]+)["']?/g)].map((m) => m[1].trim());
  return globs
    .flatMap((g) =>
      g.endsWith('/*') ? readdirSync(join(root, g.slice(0, -2))).map((d) => `${g.slice(0, -2)}/${d}`) : [g],
    )
    .filter((d) => d !== 'test' && existsSync(join(root, d, 'package.json')))
    .sort();
}

const packages = workspaceDirs().map((dir) =>
  JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')),
);
const names = new Set(packages.map((p) => p.name));
/** A mermaid node id: the name without its scope, with characters mermaid reads as syntax replaced. */
const id = (name) => name.replace(/^@netward\//, '').replace(/[^A-Za-z0-9]/g, '_');
const label = (name) => name.replace(/^@netward\//, '');

const lines = ['```mermaid', 'graph TD'];
for (const p of [...packages].sort((a, b) => a.name.localeCompare(b.name))) {
  lines.push(`  ${id(p.name)}[${label(p.name)}]`);
}
for (const p of [...packages].sort((a, b) => a.name.localeCompare(b.name))) {
  const deps = (field) =>
    Object.keys(p[field] ?? {})
      .filter((d) => names.has(d))
      .sort();
  for (const d of deps('dependencies')) lines.push(`  ${id(p.name)} --> ${id(d)}`);
  for (const d of deps('devDependencies')) lines.push(`  ${id(p.name)} -.-> ${id(d)}`);
}
lines.push('```');
process.stdout.write(`${lines.join('\n')}\n`);
