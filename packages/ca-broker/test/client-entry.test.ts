import { resolve } from 'node:path';
import { bundleInputs } from '@netward/kit/testing';
import { describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };

describe('@netward/ca-broker/client', () => {
  it('is the client alone: no fastify, jose, node-vault, zod or policy in its bundle', async () => {
    const entry = packageJson.exports['./client']['netward-source'];
    const { inputs } = await bundleInputs(resolve(import.meta.dirname, '..'), entry);
    expect(inputs).toContain('src/client.ts');
    const allowed = /^(src\/(client|errors)\.ts|\.\.\/(errors|ssh-certificate)\/src\/[a-z-]+\.ts)$/;
    expect(inputs.filter((f) => !allowed.test(f))).toEqual([]);
  });
});
