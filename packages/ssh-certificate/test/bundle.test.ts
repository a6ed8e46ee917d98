import { join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

describe('@netward/ssh-certificate', () => {
  it('bundles to the codec alone: node built-ins and @netward/errors, nothing else', async () => {
    const result = await build({
      entryPoints: [join(ROOT, 'src/index.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      conditions: ['netward-source'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs).map((f) => relative(ROOT, resolve(process.cwd(), f)));
    expect(inputs).toContain('src/certificate.ts');
    expect(inputs.filter((f) => !/^(src\/[a-z-]+\.ts|\.\.\/errors\/src\/[a-z-]+\.ts)$/.test(f))).toEqual([]);
    expect(result.outputFiles[0]!.text.length).toBeLessThan(60_000);
  });
});
