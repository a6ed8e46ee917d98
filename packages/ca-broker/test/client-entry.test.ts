import { join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };

const ROOT = resolve(import.meta.dirname, '..');

describe('@netward/ca-broker/client', () => {
  it('is the client alone: no fastify, jose, node-vault, zod or policy in its bundle', async () => {
    const entry = packageJson.exports['./client']['netward-source'];
    const result = await build({
      entryPoints: [join(ROOT, entry)],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      conditions: ['netward-source'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs).map((f) => relative(ROOT, resolve(process.cwd(), f)));
    expect(inputs).toContain('src/client.ts');
    const allowed = /^(src\/(client|errors)\.ts|\.\.\/(errors|ssh-certificate)\/src\/[a-z-]+\.ts)$/;
    expect(inputs.filter((f) => !allowed.test(f))).toEqual([]);
  });
});
