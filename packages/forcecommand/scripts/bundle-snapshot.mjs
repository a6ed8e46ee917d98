#!/usr/bin/env node
// Bundles src/snapshot.ts as one CommonJS file (node's snapshot builder runs scripts, not ES modules).
// Everything is compiled in, as with `bundle.mjs --self-contained`.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/snapshot.ts'],
  outfile: 'dist/netward-forcecommand-snapshot.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  conditions: ['netward-source'],
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
