// The validator is compiled and evaluated once per SSH command (or held in a start-up snapshot): its
// bundles must not carry full zod, which once made up 0.79 MB of a 1.46 MB bundle and most of the
// start-up time (README "Speed"). Built in memory with the options of scripts/bundle.mjs --self-contained
// and scripts/bundle-snapshot.mjs, so the "exports" maps and "sideEffects" flags of the workspace
// packages are what is tested.
import { relative, resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
// Measured: 784.0 kB for the validator bundle and 800.8 kB for the snapshot script (with the resident
// verb, which esbuild bundles in although main.ts imports it only when asked), of which yaml is 261 kB
// (loaded only for a YAML config). Full zod (v4/classic with every locale) adds ~0.8 MB, so the bound
// leaves room for growth but not for it.
const MAX_BUNDLE_BYTES = 880_000;

const VALIDATOR: BuildOptions = { entryPoints: ['src/cli.ts'], format: 'esm' };
const SNAPSHOT: BuildOptions = { entryPoints: ['src/snapshot.ts'], format: 'cjs' };

async function bundle(options: BuildOptions) {
  const result = await build({
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    target: 'node20',
    conditions: ['netward-source'],
    legalComments: 'none',
    logLevel: 'silent',
    ...options,
  });
  // Modules that contribute bytes (esbuild also lists modules it read and then dropped as unused).
  const out = Object.values(result.metafile?.outputs ?? {})[0];
  const inputs = Object.entries(out?.inputs ?? {})
    .filter(([, v]) => v.bytesInOutput > 0)
    .map(([f]) => relative(ROOT, resolve(ROOT, f)));
  return { inputs, text: result.outputFiles?.[0]?.text ?? '' };
}

const zodModules = (inputs: readonly string[]) => inputs.filter((f) => /node_modules\/zod\//.test(f));
// zod/mini is v4/mini over the shared v4/core, with the English messages (locales/en.js; locales/index.js
// contributes only the namespace object naming it, 115 bytes measured). The full API is v4/classic, and
// the `zod` entry also brings every other locale.
const FULL_ZOD =
  /node_modules\/zod\/(v4\/classic\/|v4\/locales\/(?!(en|index)\.js$)|index\.js$|v4\/index\.js$)/;
const ZOD_MINI = /node_modules\/zod\/(mini\/index\.js|v4\/(core|mini)\/.*|v4\/locales\/(en|index)\.js)$/;

describe.each([
  ['validator bundle (dist/netward-forcecommand.js)', VALIDATOR],
  ['snapshot script (dist/netward-forcecommand-snapshot.cjs)', SNAPSHOT],
])('%s', (_name, options) => {
  it('has zod/mini and no module of full zod', async () => {
    const { inputs, text } = await bundle(options);
    const zod = zodModules(inputs);
    expect(zod.filter((f) => FULL_ZOD.test(f))).toEqual([]);
    expect(zod.filter((f) => !ZOD_MINI.test(f))).toEqual([]);
    expect(zod.some((f) => f.includes('zod/v4/mini/'))).toBe(true);
    expect(text).not.toMatch(/\$constructor\("ZodObject"/);
    expect(text).toMatch(/\$constructor\("ZodMiniObject"/);
  });

  it(`stays under ${MAX_BUNDLE_BYTES} bytes`, async () => {
    const { text } = await bundle(options);
    expect(text.length).toBeLessThan(MAX_BUNDLE_BYTES);
  });

  it('takes the local rules from the lean subpath, not the main entry of @netward/policy', async () => {
    const { inputs } = await bundle(options);
    const policy = inputs.filter((f) => f.startsWith('../policy/')).sort();
    expect(policy).toContain('../policy/src/local-rules/rules.ts');
    for (const heavy of ['schema.ts', 'load.ts', 'default-policy.ts', 'render/', 'lint.ts'])
      expect(policy.filter((f) => f.includes(`/src/${heavy}`))).toEqual([]);
  });
});

describe('the checks above can fail', () => {
  it('finds full zod and passes the bound when the main entry of @netward/policy is bundled', async () => {
    const { inputs, text } = await bundle({
      stdin: {
        contents: "export * from '@netward/policy';",
        resolveDir: ROOT,
        sourcefile: 'entry.ts',
        loader: 'ts',
      },
      format: 'esm',
    });
    expect(zodModules(inputs).filter((f) => FULL_ZOD.test(f)).length).toBeGreaterThan(0);
    expect(text).toMatch(/\$constructor\("ZodObject"/);
    expect(text.length).toBeGreaterThan(MAX_BUNDLE_BYTES);
  });
});
