import { build } from 'esbuild';

/**
 * A program bundled as scripts/bundle.mjs builds it: one ES module file from the TypeScript source, run
 * by plain node, so that each start costs a Node start and not a TypeScript compile. The CLI tests and
 * the benchmarks start the broker this way.
 */
export async function bundleProgram(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['netward-source'],
    // CommonJS dependencies compiled into an ES module still call require().
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'error',
  });
}
