// Every error code is documented in the README, and errors keep their cause.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicy, POLICY_ERROR_CODES, PolicyError } from '../src/index.ts';

const README = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');

describe('error catalogue', () => {
  it.each(POLICY_ERROR_CODES)('%s is documented in the README', (code) => {
    expect(README).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|`));
  });

  it('keeps the cause of a read failure', () => {
    try {
      loadPolicy('/nonexistent/policy.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).code).toBe('ERR_POLICY_READ');
      expect(((err as PolicyError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    }
  });
});
