import { resolve } from 'node:path';
import { bundleInputs } from '@netward/kit/testing';
import { describe, expect, it } from 'vitest';

describe('@netward/ssh-certificate', () => {
  it('bundles to the codec alone: node built-ins and @netward/errors, nothing else', async () => {
    const { inputs, size } = await bundleInputs(resolve(import.meta.dirname, '..'), 'src/index.ts');
    expect(inputs).toContain('src/certificate.ts');
    expect(inputs.filter((f) => !/^(src\/[a-z-]+\.ts|\.\.\/errors\/src\/[a-z-]+\.ts)$/.test(f))).toEqual([]);
    expect(size).toBeLessThan(60_000);
  });
});
