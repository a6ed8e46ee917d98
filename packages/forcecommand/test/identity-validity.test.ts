// The certificate's validity window, checked by the validator on every command (sshd checks it only at
// login): the edges, from a certificate signed in process and a clock the test sets.
import { parseCertificate } from '@netward/ssh-certificate';
import { describe, expect, it } from 'vitest';
import { readIdentity } from '../src/identity.ts';
import { authInfo, certLine } from './helpers.ts';

describe('certificate validity at each command', () => {
  const line = certLine({ validForSeconds: 60 });
  // The window as signed: valid_after = t - 10, valid_before = t + 60.
  const cert = parseCertificate(line);
  const after = Number(cert.validAfter);
  const before = Number(cert.validBefore);
  const read = (at: number, account = 'net-viewer', device?: string) =>
    readIdentity({
      account,
      env: { SSH_USER_AUTH: '/auth' },
      readFile: () => authInfo(line),
      nowSeconds: () => at,
      ...(device === undefined ? {} : { device }),
    });

  it('accepts valid_after <= now < valid_before, as OpenSSH does', () => {
    expect(read(after).user).toBe('bob');
    expect(read(before - 1).user).toBe('bob');
  });

  it('refuses at valid_before and later: ERR_FC_CERT_EXPIRED, with the window in the detail', () => {
    for (const at of [before, before + 3600]) {
      try {
        read(at);
        expect.unreachable();
      } catch (e) {
        expect(e).toMatchObject({ code: 'ERR_FC_CERT_EXPIRED', exitStatus: 116 });
        expect((e as { detail: Record<string, unknown> }).detail).toMatchObject({
          reason: 'certificate expired',
          valid_before: String(before),
        });
      }
    }
  });

  it('refuses before valid_after: a certificate from a clock ahead of the device', () => {
    expect(() => read(after - 1)).toThrow(expect.objectContaining({ code: 'ERR_FC_CERT_EXPIRED' }));
  });

  it('accepts <account>@<this device>, never a principal for another device', () => {
    const bound = certLine({ principals: ['net-viewer@spine-a'] });
    const readBound = (device: string) =>
      readIdentity({
        account: 'net-viewer',
        env: { SSH_USER_AUTH: '/auth' },
        readFile: () => authInfo(bound),
        device,
      });
    expect(readBound('spine-a').role).toBe('net-viewer');
    expect(() => readBound('leaf-2')).toThrow(expect.objectContaining({ code: 'ERR_FC_IDENTITY' }));
  });
});
