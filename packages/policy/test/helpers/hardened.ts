// The shipped alternative policy, read as `netward-policy --policy policy/hardened.yaml` would from the
// package directory (the name appears in rendered headers, so goldens do not depend on the checkout path).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePolicy } from '../../src/index.ts';
import type { Policy } from '../../src/types.ts';

export const HARDENED_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'policy',
  'hardened.yaml',
);

export function hardenedPolicy(): Policy {
  return parsePolicy(readFileSync(HARDENED_FILE, 'utf8'), 'policy/hardened.yaml');
}
