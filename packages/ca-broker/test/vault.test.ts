import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newRequestId } from '@netward/audit-context';
import { checkCertificate, parseCertificate } from '@netward/ssh-certificate';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createVaultBackend } from '../src/signers/vault.ts';
import {
  brokerConfig,
  claims,
  freshKey,
  signRequest,
  startBroker,
  type TestBroker,
  testPolicy,
} from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';
import { type FakeVault, startFakeVault } from './helpers/fake-vault.ts';
import { tempDir } from './helpers/openssh.ts';

// CONTRACT TEST: the broker against a recording stand-in that answers like Vault/OpenBao's HTTP API.
// It pins down exactly what the broker sends (paths, headers, bodies, the namespace header, the
// revocation after the signature) and drives answers a real server gives only by accident (failures,
// a certificate from another CA, AppRole tokens revoked under the broker). That a real OpenBao accepts
// the same and signs what sshd takes is packages/lab/test/openbao-broker.test.ts.
let idp: TestIdp;
let vault: FakeVault;
const dir = tempDir('ca-broker-vault');

beforeAll(async () => {
  idp = await startIdp();
  vault = await startFakeVault();
});
afterAll(async () => {
  await vault.close();
  await idp.close();
  dir.remove();
});
beforeEach(() => vault.reset());

function vaultBroker(
  backend: Record<string, unknown>,
  policyOpts?: Parameters<typeof testPolicy>[0],
  overrides: Record<string, unknown> = {},
): TestBroker {
  const cfg = brokerConfig(idp, { backend: { type: 'vault', address: vault.url, ...backend } as never });
  return startBroker(
    idp,
    { backend: cfg.backend as never, ...overrides },
    {
      backend: () => createVaultBackend(cfg.backend as Extract<typeof cfg.backend, { type: 'vault' }>),
      ...(policyOpts ? { policy: testPolicy(policyOpts) } : {}),
    },
  );
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('vault backend, JWT auth (contract test against a stand-in)', () => {
  it('logs in with the caller token, signs with the role, revokes the login token', async () => {
    const b = vaultBroker({ auth: { method: 'jwt' }, namespace: 'netward' });
    try {
      const token = await idp.sign(claims(idp));
      const key = freshKey();
      const requestId = newRequestId();
      const res = await signRequest(b.app, token, { public_key: key.line, request_id: requestId });
      expect(res.statusCode, res.body).toBe(200);
      await settle();
      expect(vault.requests.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
        'GET /v1/ssh/public_key', // to check the engine's certificate against the CA it names
        'POST /v1/auth/jwt/login',
        'POST /v1/auth/token/revoke-self',
        'POST /v1/ssh/sign/net-operator',
      ]);
      const find = (u: string) => vault.requests.find((r) => r.url === u);
      const login = find('/v1/auth/jwt/login');
      const sign = find('/v1/ssh/sign/net-operator');
      const revoke = find('/v1/auth/token/revoke-self');
      // the login precedes the signature, the revocation follows it
      expect(vault.requests.indexOf(login!)).toBeLessThan(vault.requests.indexOf(sign!));
      expect(vault.requests.indexOf(revoke!)).toBeGreaterThan(vault.requests.indexOf(sign!));
      expect(login).toMatchObject({
        method: 'POST',
        url: '/v1/auth/jwt/login',
        body: { role: 'net-operator', jwt: token },
      });
      expect(login!.headers['x-vault-namespace']).toBe('netward');
      expect(login!.headers['x-vault-request']).toBe('true');
      expect(login!.headers['x-vault-token']).toBeUndefined();
      expect(sign).toMatchObject({ method: 'POST', url: '/v1/ssh/sign/net-operator' });
      expect(sign!.body).toEqual({
        public_key: key.line,
        valid_principals: 'net-operator',
        ttl: '60s',
        key_id: `sid=fd9e4bdc77df2fa8,user=bob,req=${requestId}`,
        cert_type: 'user',
        extensions: {},
        critical_options: {},
      });
      expect(sign!.headers['x-vault-token']).toMatch(/^hvs\.jwt/);
      expect(revoke).toMatchObject({ method: 'POST', url: '/v1/auth/token/revoke-self' });
      expect(revoke!.headers['x-vault-token']).toBe(sign!.headers['x-vault-token']);

      const cert = parseCertificate(res.json().certificate);
      expect(checkCertificate(cert, { trustedCaKeys: [vault.caLine], principal: 'net-operator' })).toBe(cert);
      expect(res.json().serial).toBe(cert.serial.toString());
      const caPub = await b.app.inject({ method: 'GET', url: '/v1/ssh/ca.pub' });
      expect(caPub.body.trim()).toBe(vault.caLine);
      // Neither the user's token nor Vault's appear in the audit trail.
      const audit = b.audit.raw.join('\n');
      expect(audit).not.toContain(token.split('.')[2]);
      expect(audit).not.toMatch(/hvs\./);
    } finally {
      await b.close();
    }
  });

  it('passes TTL, granted extensions and source-address, and uses the role template', async () => {
    const b = vaultBroker(
      { auth: { method: 'jwt', role: 'jwt-{role}' }, signRole: 'ssh-{role}', mount: 'ssh-user' },
      { ttl: 30, maxTtl: 30, extensions: ['permit-pty'] },
      { certificate: { sourceAddress: ['10.0.0.5/32'] } },
    );
    try {
      const res = await signRequest(b.app, await idp.sign(claims(idp)));
      expect(res.statusCode, res.body).toBe(200);
      const login = vault.requests.find((r) => r.url.includes('/login'))!;
      const sign = vault.requests.find((r) => r.url.includes('/sign/'))!;
      expect(login.body).toMatchObject({ role: 'jwt-net-operator' });
      expect(sign.url).toBe('/v1/ssh-user/sign/ssh-net-operator');
      expect(sign.body).toMatchObject({
        ttl: '30s',
        extensions: { 'permit-pty': '' },
        critical_options: { 'source-address': '10.0.0.5/32' },
      });
      const cert = parseCertificate(res.json().certificate);
      expect(cert.criticalOptions).toEqual([{ name: 'source-address', value: '10.0.0.5/32' }]);
    } finally {
      await b.close();
    }
  });

  it('answers 503 and issues nothing when Vault refuses, fails, is down or signs something else', async () => {
    const b = vaultBroker({ auth: { method: 'jwt' } });
    try {
      const cases: [string, () => void][] = [
        ['sign 500', () => (vault.behaviour.signStatus = 500)],
        ['sign 403', () => (vault.behaviour.signStatus = 403)],
        ['sealed', () => (vault.behaviour.down = true)],
        // allow_user_key_ids=false: the engine writes its own Key ID, which loses the attribution
        ['own key id', () => (vault.behaviour.ignoreKeyId = true)],
        // default_extensions on the Vault role would grant what the policy does not
        [
          'default extensions',
          () => (vault.behaviour.defaultExtensions = ['permit-pty', 'permit-port-forwarding']),
        ],
        // remote signatures are verified, not only the CA key they name
        ['bad signature', () => (vault.behaviour.corruptSignature = true)],
      ];
      for (const [name, arrange] of cases) {
        for (const k of Object.keys(vault.behaviour)) delete (vault.behaviour as Record<string, unknown>)[k];
        arrange();
        const res = await signRequest(b.app, await idp.sign(claims(idp)));
        expect([res.statusCode, res.json().error.code], name).toEqual([503, 'ERR_CA_BACKEND_UNAVAILABLE']);
        expect(res.body, name).not.toContain('cert-v01');
      }
      const gone = vaultBroker({ auth: { method: 'jwt' }, address: 'http://127.0.0.1:1' } as never);
      try {
        const res = await signRequest(gone.app, await idp.sign(claims(idp)));
        expect([res.statusCode, res.json().error.code]).toEqual([503, 'ERR_CA_BACKEND_UNAVAILABLE']);
        expect((await gone.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      } finally {
        await gone.close();
      }
    } finally {
      await b.close();
    }
  });
});

describe('vault backend, AppRole auth (contract test against a stand-in)', () => {
  function approle(extra: Record<string, unknown> = {}) {
    const roleIdFile = join(dir.path, 'role_id');
    const secretIdFile = join(dir.path, 'secret_id');
    writeFileSync(roleIdFile, 'r-1234\n', { mode: 0o600 });
    writeFileSync(secretIdFile, 's-secret-5678\n', { mode: 0o600 });
    return vaultBroker({
      auth: { method: 'approle', roleIdFile, secretIdFile },
      hostMount: 'ssh-host',
      ...extra,
    });
  }

  it('logs in once, reuses the token, and logs in again when it is revoked', async () => {
    const b = approle();
    try {
      for (let i = 0; i < 3; i++)
        expect((await signRequest(b.app, await idp.sign(claims(idp)))).statusCode).toBe(200);
      const logins = vault.requests.filter((r) => r.url === '/v1/auth/approle/login');
      expect(logins).toHaveLength(1);
      expect(logins[0]!.body).toEqual({ role_id: 'r-1234', secret_id: 's-secret-5678' });
      expect(vault.requests.filter((r) => r.url.includes('revoke'))).toHaveLength(0);
      const used = vault.requests.find((r) => r.url.includes('/sign/'))!.headers['x-vault-token'] as string;
      vault.behaviour.revoked!.add(used);
      expect((await signRequest(b.app, await idp.sign(claims(idp)))).statusCode).toBe(200);
      expect(vault.requests.filter((r) => r.url === '/v1/auth/approle/login')).toHaveLength(2);
      expect(b.audit.raw.join('\n')).not.toContain('s-secret-5678');
    } finally {
      await b.close();
    }
  });

  it('signs host keys on the host mount with cert_type=host', async () => {
    const backend = createVaultBackend(
      brokerConfig(idp, {
        backend: {
          type: 'vault',
          address: vault.url,
          hostMount: 'ssh-host',
          auth: {
            method: 'approle',
            roleIdFile: join(dir.path, 'role_id'),
            secretIdFile: join(dir.path, 'secret_id'),
          },
        },
      }).backend as never,
    );
    const key = freshKey();
    const line = await backend.signHost({
      publicKey: key.publicKey,
      publicKeyLine: key.line,
      principals: ['spine-a', '10.0.0.1'],
      keyId: 'host:spine-a',
      validitySeconds: 86_400,
      backdateSeconds: 5,
    });
    const sign = vault.requests.find((r) => r.url.includes('/sign/'))!;
    expect(sign.url).toBe('/v1/ssh-host/sign/host');
    expect(sign.body).toEqual({
      public_key: key.line,
      valid_principals: 'spine-a,10.0.0.1',
      ttl: '86400s',
      key_id: 'host:spine-a',
      cert_type: 'host',
    });
    const cert = parseCertificate(line);
    expect(
      checkCertificate(cert, { trustedCaKeys: [vault.hostCaLine], type: 'host', principal: 'spine-a' }),
    ).toBe(cert);
    expect(await backend.hostCaPublicKey()).toBe(vault.hostCaLine);
  });
});
