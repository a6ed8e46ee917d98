// The resident validator behind a real sshd: ForceCommand = guard + shim + socket + the per-process
// command line; each account's resident process started as the account (setpriv, as a service would).
// Every behaviour is compared with the per-process path on the same sshd (the shim's fallback when no
// resident process listens), so "the same" is measured, not assumed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, type Harness, type Resident, startSshd } from './sshd-harness.ts';

const SID = 'fd9e4bdc77df2fa8';
const REQ = 'a1b2c3d4e5f6a7b8c9d0e1';
const SERIAL = 15800124;
const KEY_ID = `sid=${SID},user=bob,req=${REQ}`;

let h: Harness;
const residents: Record<string, Resident> = {};

beforeAll(async () => {
  buildBundle();
  h = await startSshd({ resident: true });
  h.sign({ keyId: KEY_ID, principals: ['net-viewer', 'net-operator', 'net-admin'], serial: SERIAL });
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

describe('through the resident validator', () => {
  it('runs a permitted viewer command there, recorded as served by it', async () => {
    residents['net-viewer'] = await h.startResident('net-viewer');
    const r = await h.ssh('net-viewer', 'ip addr show lo');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('127.0.0.1');
    const [decision, completed] = h.auditRecords().slice(-2);
    expect(decision).toMatchObject({ event: 'decision', decision: 'permit', served_by: 'resident' });
    expect(completed).toMatchObject({ event: 'completed', exit_status: 0, served_by: 'resident' });
  });
});
