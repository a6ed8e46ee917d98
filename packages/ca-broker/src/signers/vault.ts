/**
 * The Vault / OpenBao backend: the SSH secrets engine signs, this broker decides. Requests go through
 * node-vault (`write`/`read`, which build the URL, the X-Vault-Token and X-Vault-Namespace headers and
 * turn Vault's `{ errors }` answers into rejections). packages/lab/test/openbao-broker.test.ts runs it against a real
 * OpenBao 2.7.2 configured with the compose lab's rendered roles; the contract test (test/vault.test.ts)
 * pins every method, path, header and body field against a recording stand-in.
 *
 * Endpoints (Vault API docs, identical in OpenBao):
 *   POST /v1/auth/<jwt mount>/login       { role, jwt }                  → { auth: { client_token, lease_duration } }
 *   POST /v1/auth/<approle mount>/login   { role_id, secret_id }         → same
 *   POST /v1/<ssh mount>/sign/<role>      { public_key, valid_principals, ttl, key_id, cert_type,
 *                                           extensions, critical_options } → { data: { serial_number, signed_key } }
 *   GET  /v1/<ssh mount>/public_key       → the CA public key line (text, unauthenticated)
 *   POST /v1/auth/token/revoke-self       (X-Vault-Token) → 204
 *   GET  /v1/sys/health                   → 200 when initialised, unsealed and active
 *
 * What node-vault 0.12.0 does that this file works around (read in node_modules/node-vault/src/index.js):
 * - `jwtLogin`/`approleLogin` store the client token in the shared `client.token`, which every later
 *   request then sends. With one JWT login per tool call running concurrently, one caller's Vault token
 *   would ride on another's requests (and on the next login). So logins are plain `write`s and the
 *   token is passed per call in a fresh headers object; `client.token` stays empty.
 * - It reads VAULT_TOKEN, VAULT_NAMESPACE, VAULT_PREFIX and VAULT_SKIP_VERIFY from the environment:
 *   all four are overridden here, so only the broker's config decides.
 * - `debug('write %o to %s', data, path)` prints request bodies (the caller's JWT, the AppRole
 *   secret_id) when DEBUG=node-vault is set: its `debug` is replaced by a no-op.
 * - Transport errors are axios errors whose `config` holds the request headers (X-Vault-Token) and body
 *   (the JWT); serialisers that copy enumerable properties would print them. None is ever kept: every
 *   failure becomes a CaBrokerError whose cause carries only the path, status, Vault's error strings or
 *   the transport error code.
 * - axios follows redirects (follow-redirects) and re-sends custom headers, X-Vault-Token included, to
 *   whatever host the Location names; node-vault forwards no `maxRedirects`. The agents given to it
 *   refuse any connection other than to the configured Vault host and port, so a redirect elsewhere
 *   fails instead of carrying the token away.
 * - Its `timeout` is axios's (a connect timer plus socket inactivity): a Vault that trickles bytes
 *   would outlast it, so each call also races a deadline of `timeoutMs`.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import nodeVault from 'node-vault';
import type { BrokerConfig } from '../config.ts';
import { CaBrokerError } from '../errors.ts';
import { readCredentialFile } from '../private-file.ts';
import type { HostCertificateRequest, SigningBackend, UserCertificateRequest } from './types.ts';

type VaultConfig = Extract<BrokerConfig['backend'], { type: 'vault' }>;

export interface VaultBackendOptions {
  /** Clock, ms since the epoch (AppRole token renewal). */
  readonly now?: () => number;
}

/** Vault answered with a status other than 200/204. */
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

/** No answer: refused, reset, timed out, redirected off the Vault host. Only the code survives. */
class VaultTransportError extends Error {
  override readonly name = 'VaultTransportError';
  constructor(
    readonly code: string,
    readonly path: string,
  ) {
    super(`Vault request to ${path} failed: ${code}`);
  }
}

function unavailable(message: string, cause?: unknown): CaBrokerError {
  return new CaBrokerError(
    'ERR_CA_BACKEND_UNAVAILABLE',
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** A node-vault rejection, reduced to what is safe to log. */
function safeCause(err: unknown, path: string): Error {
  if (err instanceof VaultTransportError) return err;
  const response = (err as { response?: { statusCode?: unknown; body?: unknown } } | null)?.response;
  // node-vault's ApiResponseError: `response` is { statusCode, body } (an axios error's `response`,
  // when there is one, has `status` instead).
  if (response && typeof response.statusCode === 'number') {
    const body = response.body as { errors?: unknown } | null | undefined;
    const errors = Array.isArray(body?.errors)
      ? body.errors.filter((e): e is string => typeof e === 'string').slice(0, 4)
      : [];
    return new VaultHttpError(response.statusCode, path, errors);
  }
  const code = (err as { code?: unknown } | null)?.code;
  return new VaultTransportError(
    typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'ERR_VAULT_REQUEST',
    path,
  );
}

function readSecretFile(file: string): string {
  return readCredentialFile(file, 'AppRole credential').toString('utf8').trim();
}

const roleName = (template: string, role: string) => template.replaceAll('{role}', role);

type ConnectCallback = (err: Error | null, socket?: Socket) => void;

/** Agents that connect only to the configured Vault origin, whatever URL they are asked for. */
function pinnedAgents(address: URL): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const host = address.hostname.replace(/^\[|\]$/g, '');
  const port = Number(address.port || (address.protocol === 'https:' ? 443 : 80));
  const pin = <A extends http.Agent>(agent: A): A => {
    const a = agent as unknown as {
      createConnection(options: { host?: string; port?: number | string }, cb: ConnectCallback): unknown;
    };
    const connect = a.createConnection.bind(agent);
    a.createConnection = (options, cb) => {
      if (options.host !== host || Number(options.port) !== port) {
        cb(
          Object.assign(new Error('refusing to connect anywhere but the Vault address'), {
            code: 'ERR_VAULT_OFF_ORIGIN',
          }),
        );
        return undefined;
      }
      return connect(options, cb);
    };
    return agent;
  };
  return {
    httpAgent: pin(new http.Agent({ keepAlive: true })),
    httpsAgent: pin(new https.Agent({ keepAlive: true, rejectUnauthorized: true })),
  };
}

const noop = () => {};

/** Vault's HTTP API as this backend uses it: one node-vault client, calls that reject only safely. */
interface VaultTransport {
  /** One node-vault call; `path` without the /v1/ prefix. Rejects only with a CaBrokerError. */
  call(
    method: 'read' | 'write',
    path: string,
    init?: { token?: string; body?: Record<string, unknown> },
  ): Promise<unknown>;
  /** A write whose answer must be a JSON object. */
  json(path: string, body: Record<string, unknown>, token?: string): Promise<Record<string, unknown>>;
  close(): void;
}

function createTransport(cfg: VaultConfig): VaultTransport {
  const agents = pinnedAgents(new URL(cfg.address));
  const client = nodeVault({
    endpoint: cfg.address.replace(/\/+$/, ''),
    apiVersion: 'v1',
    pathPrefix: '',
    debug: noop,
    // Overrides VAULT_SKIP_VERIFY; the agents above verify certificates in any case.
    rpDefaults: { strictSSL: true },
  } as Parameters<typeof nodeVault>[0]);
  // The constructor falls back to VAULT_TOKEN, VAULT_NAMESPACE and VAULT_PREFIX: none of them applies.
  const c = client as typeof client & { namespace?: string; pathPrefix: string };
  c.token = '';
  c.pathPrefix = '';
  c.namespace = cfg.namespace ?? '';

  const call: VaultTransport['call'] = async (method, path, init = {}) => {
    // A fresh object per call: node-vault adds X-Vault-Namespace (and would add client.token) to it.
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (init.token) headers['X-Vault-Token'] = init.token;
    const requestOptions = { headers, timeout: cfg.timeoutMs, ...agents };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VaultTransportError('ETIMEDOUT', path)), cfg.timeoutMs);
    });
    const pending: Promise<unknown> =
      method === 'read' ? client.read(path, requestOptions) : client.write(path, init.body, requestOptions);
    pending.catch(noop); // it may settle after the deadline
    try {
      return await Promise.race([pending, deadline]);
    } catch (err) {
      const cause = safeCause(err, path);
      throw unavailable(
        cause instanceof VaultHttpError ? 'Vault refused the request' : 'Vault unreachable',
        cause,
      );
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    call,
    async json(path, body, token) {
      const answer = await call('write', path, token === undefined ? { body } : { body, token });
      if (typeof answer !== 'object' || answer === null) throw unavailable('Vault answer is not JSON');
      return answer as Record<string, unknown>;
    },
    close() {
      agents.httpAgent.destroy();
      agents.httpsAgent.destroy();
    },
  };
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

/** The Vault token a signature is made with, and whether it is the caller's to revoke afterwards. */
interface VaultLogins {
  login(role: string, userToken: string | undefined): Promise<{ token: string; revoke: boolean }>;
  /** Drops the cached AppRole token (Vault refused it: it may have been revoked). */
  forget(): void;
}

/**
 * JWT auth: one login per signature with the caller's own token, revoked afterwards. AppRole: one token
 * for the broker, cached and renewed before its lease ends.
 */
function createLogins(cfg: VaultConfig, transport: VaultTransport, now: () => number): VaultLogins {
  const appRole =
    cfg.auth.method === 'approle'
      ? { roleId: readSecretFile(cfg.auth.roleIdFile), secretId: readSecretFile(cfg.auth.secretIdFile) }
      : undefined;
  let cachedToken: { token: string; renewAt: number } | undefined;
  return {
    async login(role, userToken) {
      if (cfg.auth.method === 'jwt') {
        if (userToken === undefined) throw unavailable('Vault JWT login needs the caller token');
        const answer = await transport.json(`auth/${cfg.auth.mount}/login`, {
          role: roleName(cfg.auth.role, role),
          jwt: userToken,
        });
        return { token: clientToken(answer).token, revoke: true };
      }
      const t = now();
      if (cachedToken && t < cachedToken.renewAt) return { token: cachedToken.token, revoke: false };
      const answer = await transport.json(`auth/${cfg.auth.mount}/login`, {
        role_id: appRole!.roleId,
        secret_id: appRole!.secretId,
      });
      const { token, lease } = clientToken(answer);
      // Log in again after two thirds of the lease; a lease of 0 (no expiry) is still refreshed hourly.
      cachedToken = { token, renewAt: t + (lease > 0 ? (lease * 1000 * 2) / 3 : 3_600_000) };
      return { token, revoke: false };
    },
    forget() {
      cachedToken = undefined;
    },
  };
}

/** One signature by the SSH engine at `mount`/sign/`vaultRole`: the signed certificate line. */
async function signWithVault(
  transport: VaultTransport,
  logins: VaultLogins,
  target: { mount: string; role: string; vaultRole: string; userToken: string | undefined },
  body: Record<string, unknown>,
): Promise<string> {
  const path = `${target.mount}/sign/${encodeURIComponent(target.vaultRole)}`;
  const session = await logins.login(target.role, target.userToken);
  try {
    let answer: Record<string, unknown>;
    try {
      answer = await transport.json(path, body, session.token);
    } catch (err) {
      // A cached AppRole token may have been revoked: log in once more.
      const status = ((err as CaBrokerError).cause as VaultHttpError | undefined)?.status;
      if (session.revoke || status !== 403) throw err;
      logins.forget();
      const again = await logins.login(target.role, target.userToken);
      answer = await transport.json(path, body, again.token);
    }
    const signed = (answer['data'] as { signed_key?: unknown } | undefined)?.signed_key;
    if (typeof signed !== 'string') throw unavailable('Vault sign answer has no signed_key');
    return signed.trim();
  } finally {
    if (session.revoke) {
      // The login token exists only for this one signature; revoking it keeps Vault's token store
      // from filling with one token per tool call. Failure here does not affect the certificate.
      // An empty JSON object as the body: without one axios labels the POST
      // application/x-www-form-urlencoded, which the stand-in (fastify) refuses with 415.
      transport.call('write', 'auth/token/revoke-self', { token: session.token, body: {} }).catch(noop);
    }
  }
}

/**
 * node-vault resolves sys/health whatever the status (sealed 503, standby 429, DR secondary 472,
 * performance standby 473), so the body decides: only an initialised, unsealed, active node is ready.
 */
function isActiveNode(h: unknown): boolean {
  if (typeof h !== 'object' || h === null) return false;
  const health = h as Record<string, unknown>;
  const dr = health['replication_dr_mode'];
  return (
    health['initialized'] === true &&
    health['sealed'] === false &&
    health['standby'] === false &&
    health['performance_standby'] !== true &&
    !(typeof dr === 'string' && dr.startsWith('secondary'))
  );
}

export function createVaultBackend(cfg: VaultConfig, options: VaultBackendOptions = {}): SigningBackend {
  const transport = createTransport(cfg);
  const logins = createLogins(cfg, transport, options.now ?? Date.now);
  const caKeys = new Map<string, string>();

  async function publicKey(mount: string): Promise<string> {
    const cached = caKeys.get(mount);
    if (cached) return cached;
    // A text/plain answer: axios hands the string through when it is not JSON.
    const text = await transport.call('read', `${mount}/public_key`);
    const line = typeof text === 'string' ? text.trim() : '';
    if (!/^[a-z0-9-]+ [A-Za-z0-9+/=]+/.test(line))
      throw unavailable('Vault public_key answer is not a key line');
    caKeys.set(mount, line);
    return line;
  }

  return {
    kind: 'vault',
    inProcess: false,
    async signUser(req: UserCertificateRequest) {
      const vaultRole = roleName(cfg.signRole, req.role);
      return signWithVault(
        transport,
        logins,
        { mount: cfg.mount, role: req.role, vaultRole, userToken: req.token },
        {
          public_key: req.publicKeyLine,
          valid_principals: req.principal,
          ttl: `${req.ttlSeconds}s`,
          key_id: req.keyId,
          cert_type: 'user',
          extensions: Object.fromEntries(req.extensions.map((e) => [e, ''])),
          critical_options: { ...req.criticalOptions },
        },
      );
    },
    async signHost(req: HostCertificateRequest) {
      if (!cfg.hostMount) throw unavailable('no host CA mount configured');
      if (cfg.auth.method !== 'approle') throw unavailable('host signing through Vault needs AppRole auth');
      return signWithVault(
        transport,
        logins,
        { mount: cfg.hostMount, role: 'host', vaultRole: cfg.hostSignRole, userToken: undefined },
        {
          public_key: req.publicKeyLine,
          valid_principals: req.principals.join(','),
          ttl: `${req.validitySeconds}s`,
          key_id: req.keyId,
          cert_type: 'host',
        },
      );
    },
    userCaPublicKey: () => publicKey(cfg.mount),
    async hostCaPublicKey() {
      return cfg.hostMount ? publicKey(cfg.hostMount) : undefined;
    },
    async ready() {
      if (!isActiveNode(await transport.call('read', 'sys/health'))) {
        throw unavailable('Vault is not an initialised, unsealed, active node');
      }
      await publicKey(cfg.mount);
    },
    async close() {
      transport.close();
    },
  };
}
