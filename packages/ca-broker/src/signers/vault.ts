/**
 * The Vault / OpenBao backend: the SSH secrets engine signs, this broker decides. Plain fetch rather than
 * node-vault, so that every header and body field of the contract is visible here and in the contract
 * test (test/vault.test.ts), which runs against a recording stand-in, not a real Vault: neither Vault nor
 * OpenBao runs on the CI machines. The compose lab runs it for real.
 *
 * Endpoints (Vault API docs, identical in OpenBao):
 *   POST /v1/auth/<jwt mount>/login       { role, jwt }                  → { auth: { client_token, lease_duration } }
 *   POST /v1/auth/<approle mount>/login   { role_id, secret_id }         → same
 *   POST /v1/<ssh mount>/sign/<role>      { public_key, valid_principals, ttl, key_id, cert_type,
 *                                           extensions, critical_options } → { data: { serial_number, signed_key } }
 *   GET  /v1/<ssh mount>/public_key       → the CA public key line (text, unauthenticated)
 *   POST /v1/auth/token/revoke-self       (X-Vault-Token) → 204
 *   GET  /v1/sys/health                   → 200 when initialised, unsealed and active
 */
import { readFileSync, statSync } from 'node:fs';
import type { BrokerConfig } from '../config.ts';
import { CaBrokerError } from '../errors.ts';
import type { HostCertificateRequest, SigningBackend, UserCertificateRequest } from './types.ts';

type VaultConfig = Extract<BrokerConfig['backend'], { type: 'vault' }>;

export interface VaultBackendOptions {
  /** Clock, ms since the epoch (AppRole token renewal). */
  readonly now?: () => number;
}

class VaultHttpError extends Error {
  override readonly name = 'VaultHttpError';
  constructor(
    readonly status: number,
    readonly path: string,
    readonly errors: readonly string[],
  ) {
    super(`Vault answered ${status} to ${path}${errors.length ? `: ${errors.join('; ')}` : ''}`);
  }
}

function unavailable(message: string, cause?: unknown): CaBrokerError {
  return new CaBrokerError(
    'ERR_CA_BACKEND_UNAVAILABLE',
    message,
    cause === undefined ? undefined : { cause },
  );
}

function readSecretFile(file: string): string {
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0) {
    throw new CaBrokerError('ERR_CA_KEY_PERMISSIONS', `${file}: readable by group or others; chmod 600 it`);
  }
  return readFileSync(file, 'utf8').trim();
}

const roleName = (template: string, role: string) => template.replaceAll('{role}', role);

export function createVaultBackend(cfg: VaultConfig, options: VaultBackendOptions = {}): SigningBackend {
  const now = options.now ?? Date.now;
  const base = cfg.address.replace(/\/+$/, '');
  const appRole =
    cfg.auth.method === 'approle'
      ? { roleId: readSecretFile(cfg.auth.roleIdFile), secretId: readSecretFile(cfg.auth.secretIdFile) }
      : undefined;
  let cachedToken: { token: string; renewAt: number } | undefined;
  const caKeys = new Map<string, string>();

  async function call(
    method: 'GET' | 'POST',
    path: string,
    init: { token?: string; body?: unknown } = {},
  ): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'x-vault-request': 'true' };
    if (cfg.namespace) headers['x-vault-namespace'] = cfg.namespace;
    if (init.token) headers['x-vault-token'] = init.token;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(cfg.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      throw unavailable('Vault unreachable', err);
    }
    const text = await res.text();
    if (res.status < 200 || res.status > 299) {
      let errors: string[] = [];
      try {
        const j = JSON.parse(text) as { errors?: unknown };
        if (Array.isArray(j.errors)) errors = j.errors.filter((e): e is string => typeof e === 'string');
      } catch {}
      throw unavailable('Vault refused the request', new VaultHttpError(res.status, path, errors));
    }
    return { status: res.status, text };
  }

  async function json(method: 'GET' | 'POST', path: string, init: { token?: string; body?: unknown } = {}) {
    const { text } = await call(method, path, init);
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw unavailable('Vault answer is not JSON', err);
    }
  }

  function clientToken(answer: Record<string, unknown>): { token: string; lease: number } {
    const auth = answer['auth'] as { client_token?: unknown; lease_duration?: unknown } | undefined;
    if (typeof auth?.client_token !== 'string' || auth.client_token.length === 0) {
      throw unavailable('Vault login answer has no client_token');
    }
    return {
      token: auth.client_token,
      lease: typeof auth.lease_duration === 'number' ? auth.lease_duration : 0,
    };
  }

  /** A Vault token for this request, and whether it is ours to revoke afterwards. */
  async function login(
    role: string,
    userToken: string | undefined,
  ): Promise<{ token: string; revoke: boolean }> {
    if (cfg.auth.method === 'jwt') {
      if (userToken === undefined) throw unavailable('Vault JWT login needs the caller token');
      const answer = await json('POST', `/v1/auth/${cfg.auth.mount}/login`, {
        body: { role: roleName(cfg.auth.role, role), jwt: userToken },
      });
      return { token: clientToken(answer).token, revoke: true };
    }
    const t = now();
    if (cachedToken && t < cachedToken.renewAt) return { token: cachedToken.token, revoke: false };
    const answer = await json('POST', `/v1/auth/${cfg.auth.mount}/login`, {
      body: { role_id: appRole!.roleId, secret_id: appRole!.secretId },
    });
    const { token, lease } = clientToken(answer);
    // Log in again after two thirds of the lease; a lease of 0 (no expiry) is still refreshed hourly.
    cachedToken = { token, renewAt: t + (lease > 0 ? (lease * 1000 * 2) / 3 : 3_600_000) };
    return { token, revoke: false };
  }

  async function sign(
    mount: string,
    role: string,
    vaultRole: string,
    body: Record<string, unknown>,
    userToken: string | undefined,
  ): Promise<string> {
    const session = await login(role, userToken);
    try {
      let answer: Record<string, unknown>;
      try {
        answer = await json('POST', `/v1/${mount}/sign/${encodeURIComponent(vaultRole)}`, {
          token: session.token,
          body,
        });
      } catch (err) {
        // A cached AppRole token may have been revoked: log in once more.
        const status = ((err as CaBrokerError).cause as VaultHttpError | undefined)?.status;
        if (session.revoke || status !== 403) throw err;
        cachedToken = undefined;
        const again = await login(role, userToken);
        answer = await json('POST', `/v1/${mount}/sign/${encodeURIComponent(vaultRole)}`, {
          token: again.token,
          body,
        });
      }
      const signed = (answer['data'] as { signed_key?: unknown } | undefined)?.signed_key;
      if (typeof signed !== 'string') throw unavailable('Vault sign answer has no signed_key');
      return signed.trim();
    } finally {
      if (session.revoke) {
        // The login token exists only for this one signature; revoking it keeps Vault's token store
        // from filling with one token per tool call. Failure here does not affect the certificate.
        call('POST', '/v1/auth/token/revoke-self', { token: session.token }).catch(() => {});
      }
    }
  }

  async function publicKey(mount: string): Promise<string> {
    const cached = caKeys.get(mount);
    if (cached) return cached;
    const { text } = await call('GET', `/v1/${mount}/public_key`);
    const line = text.trim();
    if (!/^[a-z0-9-]+ [A-Za-z0-9+/=]+/.test(line))
      throw unavailable('Vault public_key answer is not a key line');
    caKeys.set(mount, line);
    return line;
  }

  return {
    kind: 'vault',
    inProcess: false,
    async signUser(req: UserCertificateRequest) {
      return sign(
        cfg.mount,
        req.principal,
        roleName(cfg.signRole, req.principal),
        {
          public_key: req.publicKeyLine,
          valid_principals: req.principal,
          ttl: `${req.ttlSeconds}s`,
          key_id: req.keyId,
          cert_type: 'user',
          extensions: Object.fromEntries(req.extensions.map((e) => [e, ''])),
          critical_options: { ...req.criticalOptions },
        },
        req.token,
      );
    },
    async signHost(req: HostCertificateRequest) {
      if (!cfg.hostMount) throw unavailable('no host CA mount configured');
      if (cfg.auth.method !== 'approle') throw unavailable('host signing through Vault needs AppRole auth');
      return sign(
        cfg.hostMount,
        'host',
        cfg.hostSignRole,
        {
          public_key: req.publicKeyLine,
          valid_principals: req.principals.join(','),
          ttl: `${req.validitySeconds}s`,
          key_id: req.keyId,
          cert_type: 'host',
        },
        undefined,
      );
    },
    userCaPublicKey: () => publicKey(cfg.mount),
    async hostCaPublicKey() {
      return cfg.hostMount ? publicKey(cfg.hostMount) : undefined;
    },
    async ready() {
      await call('GET', '/v1/sys/health');
      await publicKey(cfg.mount);
    },
    async close() {},
  };
}
