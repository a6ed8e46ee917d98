// What a bundler takes into a package's entry: the tests that hold an entry to its dependencies (the
// codec to node built-ins, the broker's client to no service code) ask esbuild, as the build does.
// esbuild is an optional peer dependency: only a test that calls this needs it.
import { relative, resolve } from 'node:path';
import { build } from 'esbuild';

/** The files esbuild bundles for `entry` (relative to `root`), as paths relative to `root`. */
export async function bundleInputs(root: string, entry: string): Promise<{ inputs: string[]; size: number }> {
  const result = await build({
    entryPoints: [resolve(root, entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    conditions: ['netward-source'],
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs).map((f) => relative(root, resolve(process.cwd(), f)));
  return { inputs, size: result.outputFiles[0]!.text.length };
}

/**
 * A program bundled as `scripts/bundle.mjs --self-contained` builds it: one ES module file from the
 * TypeScript source, run by plain node, so each start in a test costs a Node start and not a
 * TypeScript compile.
 */
export async function bundleProgram(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    conditions: ['netward-source'],
    // CommonJS dependencies compiled into an ES module still call require().
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'error',
  });
}
