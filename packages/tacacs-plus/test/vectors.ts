import { readFileSync } from 'node:fs';

/** The captured tac_plus-ng exchanges (see fixtures/tac_plus-ng/README.md and docs/tacacs.md). */
// Captured against tac_plus-ng 774d7b4d, kept with the tests so CI has it.
export const VECTORS_PATH = new URL('./fixtures/tac_plus-ng/tac_plus-ng-exchanges.json', import.meta.url);

export interface VectorCase {
  name: string;
  request: string;
  expected: string;
  key: string;
  messages: { from: 'client' | 'server'; hex: string }[];
}

export function loadVectors(): VectorCase[] {
  const data = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as { cases: VectorCase[] };
  if (!Array.isArray(data.cases) || data.cases.length === 0)
    throw new Error(`no cases in ${VECTORS_PATH.pathname}`);
  return data.cases;
}

export const LAB_KEY = Buffer.from('labsecret');
export const WRONG_KEY = Buffer.from('wrongsecret');

/** Every packet of every case, with the key its sender used. */
export function allPackets(): { name: string; from: 'client' | 'server'; bytes: Buffer; key: Buffer }[] {
  return loadVectors().flatMap((c) =>
    c.messages.map((m) => ({
      name: c.name,
      from: m.from,
      bytes: Buffer.from(m.hex, 'hex'),
      key: c.name === 'authz-wrong-client-key' && m.from === 'client' ? WRONG_KEY : LAB_KEY,
    })),
  );
}
