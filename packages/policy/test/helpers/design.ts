// The design's compatibility policy (policy/design.yaml): the seed's tac_plus-ng profiles rule for rule,
// read as `netward-policy --policy policy/design.yaml` would. The tests that compare with tac_plus-ng, the
// captured exchanges and the seed's reference configuration use it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePolicy } from '../../src/index.ts';
import type { Policy } from '../../src/types.ts';

export const DESIGN_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policy', 'design.yaml');

let cached: Policy | undefined;

export function designPolicy(): Policy {
  cached ??= parsePolicy(readFileSync(DESIGN_FILE, 'utf8'), 'policy/design.yaml');
  return cached;
}
