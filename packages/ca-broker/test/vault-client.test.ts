import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { newRequestId } from '@netward/audit-context';
import Fastify from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CaBrokerError } from '../src/index.ts';
import { createVaultBackend } from '../src/signers/vault.ts';
import {
  brokerConfig,
  claims,
  freshKey,
  signRequest,
  startBroker,
  type TestBroker,
} from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';
import { type FakeVault, startFakeVault } from './helpers/fake-vault.ts';

// How the vault backend uses node-vault: what must never leave it (the caller's JWT, the Vault token),
// where a request may go (only the configured Vault), and how long a hung Vault may hold a request.
let idp: TestIdp;
let vault: FakeVault;

beforeAll(async () => {
  idp = await startIdp();
  vault = await startFakeVault();
});
afterAll(async () => {
  await vault.close();
  await idp.close();
});
beforeEach(() => vault.reset());

type VaultCfg = Parameters<typeof createVaultBackend>[0];
const vaultCfg = (extra: Record<string, unknown> = {}): VaultCfg =>
  brokerConfig(idp, {
    backend: { type: 'vault', address: vault.url, auth: { method: 'jwt' }, ...extra } as never,
  }).backend as VaultCfg;

function broker(cfg: VaultCfg): TestBroker {
  return startBroker(idp, { backend: cfg as never }, { backend: () => createVaultBackend(cfg) });
}

function userRequest(token: string) {
  const key = freshKey();
  return {
    publicKey: key.publicKey,
    publicKeyLine: key.line,
    role: 'net-operator',
    principal: 'net-operator',
    keyId: `sid=fd9e4bdc77df2fa8,user=bob,req=${newRequestId()}`,
    ttlSeconds: 60,
    backdateSeconds: 5,
    extensions: [],
    criticalOptions: {},
    token,
  };
}

/** Everything reachable from an error, the way a careless logger might print it. */
const everything = (err: unknown) =>
  `${inspect(err, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true })}\n${JSON.stringify(err)}\n${String(err)}`;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** A TCP server that accepts and never answers. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('vault backend through node-vault: secrets stay out of errors and logs', () => {
  it('a failing sign (Vault 500) rejects with ERR_CA_BACKEND_UNAVAILABLE and carries neither token', async () => {
    const backend = createVaultBackend(vaultCfg());
    const jwt = await idp.sign(claims(idp));
    vault.behaviour.signStatus = 500;
    const err = await rejection(backend.signUser(userRequest(jwt)));
    expect(err).toBeInstanceOf(CaBrokerError);
    expect((err as CaBrokerError).code).toBe('ERR_CA_BACKEND_UNAVAILABLE');
    const vaultToken = vault.requests.find((r) => r.url.includes('/sign/'))!.headers['x-vault-token'];
    expect(vaultToken).toMatch(/^hvs\./);
    const text = everything(err);
    expect(text).not.toContain(vaultToken);
    expect(text).not.toContain(jwt);
    expect(text).not.toContain(jwt.split('.')[2]);
    await backend.close();
  });

  it('a sign whose connection drops (an axios error, whose config holds the request headers and body) carries neither token', async () => {
    const backend = createVaultBackend(vaultCfg({ timeoutMs: 200 }));
    const jwt = await idp.sign(claims(idp));
    vault.behaviour.signReset = true;
    const err = await rejection(backend.signUser(userRequest(jwt)));
    expect((err as CaBrokerError).code).toBe('ERR_CA_BACKEND_UNAVAILABLE');
    const vaultToken = vault.requests.find((r) => r.url.includes('/sign/'))!.headers['x-vault-token'];
    expect(vaultToken).toMatch(/^hvs\./);
    const text = everything(err);
    expect(text).not.toContain(vaultToken);
    expect(text).not.toContain(jwt.split('.')[2]);
    expect(text).not.toMatch(/hvs\./);
    await backend.close();
  });

  it('the audit line of a refused request names the failure but neither token', async () => {
    for (const arrange of [
      () => (vault.behaviour.signStatus = 500),
      () => (vault.behaviour.signReset = true),
      () => (vault.behaviour.signDelayMs = 1500),
    ]) {
      for (const k of Object.keys(vault.behaviour)) delete (vault.behaviour as Record<string, unknown>)[k];
      vault.behaviour.revoked = new Set();
      vault.requests.length = 0;
      arrange();
      const b = broker(vaultCfg({ timeoutMs: 200 }));
      try {
        const jwt = await idp.sign(claims(idp));
        const res = await signRequest(b.app, jwt);
        expect([res.statusCode, res.json().error.code]).toEqual([503, 'ERR_CA_BACKEND_UNAVAILABLE']);
        const audit = b.audit.raw.join('\n');
        expect(audit).toContain('ERR_CA_BACKEND_UNAVAILABLE');
        expect(audit).not.toContain(jwt);
        expect(audit).not.toContain(jwt.split('.')[2]);
        expect(audit).not.toMatch(/hvs\./);
        expect(res.body).not.toMatch(/hvs\./);
      } finally {
        await b.close();
      }
    }
  });

  it('prints nothing through node-vault’s debug channel, even with DEBUG=node-vault enabled', async () => {
    // node-vault's own `debug` instance (what DEBUG=node-vault turns on), resolved from node-vault itself.
    const debug = createRequire(createRequire(import.meta.url).resolve('node-vault'))('debug') as {
      enable(ns: string): void;
      disable(): string;
    };
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    debug.enable('node-vault');
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const backend = createVaultBackend(vaultCfg());
      const jwt = await idp.sign(claims(idp));
      await backend.signUser(userRequest(jwt));
      await backend.close();
      expect(written.join('')).not.toContain(jwt.split('.')[2]);
      expect(written.join('')).not.toContain('node-vault');
    } finally {
      process.stderr.write = original;
      debug.disable();
    }
  });

  it('ignores VAULT_TOKEN, VAULT_NAMESPACE and VAULT_PREFIX from the environment', async () => {
    const saved = { ...process.env };
    process.env['VAULT_TOKEN'] = 'hvs.from-the-environment';
    process.env['VAULT_NAMESPACE'] = 'elsewhere';
    process.env['VAULT_PREFIX'] = '/prefixed';
    try {
      const backend = createVaultBackend(vaultCfg());
      await backend.signUser(userRequest(await idp.sign(claims(idp))));
      expect(vault.requests.map((r) => r.url)).toContain('/v1/auth/jwt/login');
      for (const r of vault.requests) {
        expect(r.headers['x-vault-token'], r.url).not.toBe('hvs.from-the-environment');
        expect(r.headers['x-vault-namespace'], r.url).toBeUndefined();
      }
      expect(vault.requests.find((r) => r.url.endsWith('/login'))!.headers['x-vault-token']).toBeUndefined();
      await backend.close();
    } finally {
      for (const k of ['VAULT_TOKEN', 'VAULT_NAMESPACE', 'VAULT_PREFIX']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it('concurrent JWT logins never send one caller’s Vault token with another’s request', async () => {
    const backend = createVaultBackend(vaultCfg());
    const jwts = await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((u) => idp.sign(claims(idp, { preferred_username: u }))),
    );
    await Promise.all(jwts.map((j) => backend.signUser(userRequest(j))));
    const logins = vault.requests.filter((r) => r.url.endsWith('/login'));
    const signs = vault.requests.filter((r) => r.url.includes('/sign/'));
    expect(logins).toHaveLength(4);
    for (const l of logins) expect(l.headers['x-vault-token']).toBeUndefined();
    // four signatures, four distinct login tokens
    expect(new Set(signs.map((s) => s.headers['x-vault-token'])).size).toBe(4);
    await backend.close();
  });
});

describe('vault backend through node-vault: where requests go and for how long', () => {
  it('does not follow a redirect off the Vault host: the token never reaches it, 503', async () => {
    const elsewhere = Fastify();
    const seen: Record<string, unknown>[] = [];
    elsewhere.all('/*', async (req) => {
      seen.push({ ...req.headers });
      return { data: { signed_key: 'nothing' } };
    });
    const otherUrl = await elsewhere.listen({ host: '127.0.0.1', port: 0 });
    const b = broker(vaultCfg());
    try {
      vault.behaviour.signRedirect = `${otherUrl}/v1/ssh/sign/net-operator`;
      const res = await signRequest(b.app, await idp.sign(claims(idp)));
      expect([res.statusCode, res.json().error.code]).toEqual([503, 'ERR_CA_BACKEND_UNAVAILABLE']);
      expect(seen).toEqual([]);
      expect(b.audit.raw.join('\n')).toContain('ERR_VAULT_OFF_ORIGIN');
    } finally {
      await b.close();
      await elsewhere.close();
    }
  });

  it('a Vault that accepts connections and never answers yields 503 within the configured timeout', async () => {
    const hole = await blackHole();
    const b = broker(vaultCfg({ address: hole.url, timeoutMs: 300 }));
    try {
      const token = await idp.sign(claims(idp));
      let t = performance.now();
      const res = await signRequest(b.app, token);
      const signMs = performance.now() - t;
      expect([res.statusCode, res.json().error.code]).toEqual([503, 'ERR_CA_BACKEND_UNAVAILABLE']);
      t = performance.now();
      const ready = await b.app.inject({ method: 'GET', url: '/readyz' });
      const readyMs = performance.now() - t;
      expect(ready.statusCode).toBe(503);
      // One Vault call each (the login, the health check) of at most 300 ms; 3 s is a generous bound that
      // still fails if nothing bounds the wait (vitest would otherwise report a 5 s test timeout).
      expect(signMs).toBeLessThan(3000);
      expect(readyMs).toBeLessThan(3000);
    } finally {
      await b.close();
      await hole.close();
    }
  });

  it('a hung sign after a successful login also ends in 503 within the timeout', async () => {
    const b = broker(vaultCfg({ timeoutMs: 300 }));
    try {
      vault.behaviour.signDelayMs = 4000;
      const t = performance.now();
      const res = await signRequest(b.app, await idp.sign(claims(idp)));
      expect([res.statusCode, res.json().error.code]).toEqual([503, 'ERR_CA_BACKEND_UNAVAILABLE']);
      expect(performance.now() - t).toBeLessThan(3000);
    } finally {
      await b.close();
    }
  });
});
