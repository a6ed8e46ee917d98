/**
 * The broker's configuration: one file (YAML or JSON), validated once at startup into a frozen object.
 * Unknown keys are errors (a misspelt `requireActor` must not silently mean "no actor required"), and
 * every message names the file and the key. Each default below is the secure choice, documented where
 * it is defined and repeated in README.md.
 */
import { isIP } from 'node:net';
import { FIELD_PATTERNS } from '@netward/audit-context';
import {
  type DeepReadonly,
  type Locate,
  parseConfigText,
  readConfigText,
  validateConfig,
  withKitErrors,
} from '@netward/kit';
import { z } from 'zod';
import { CaBrokerError } from './errors.ts';

/** JWS algorithms a token may be signed with. Never `none`, never HMAC (HS*): with HMAC, anyone who
 *  knows the verification key (the IdP's public JWKS) could mint tokens (RFC 8725 section 3.1). */
export const TOKEN_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'PS256'] as const;

const cidr = z.string().refine((v) => {
  const [addr, bits, ...rest] = v.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}, 'expected an address or CIDR block such as 10.0.0.5/32 or ::1/128');

const tokenSchema = z.strictObject({
  /** The IdP's issuer identifier; tokens must carry exactly this `iss`. Required. */
  issuer: z.string().min(1),
  /** This broker's own audience; the MCP server must obtain tokens for it. Required. */
  audience: z.string().min(1),
  /** Where the IdP publishes its signing keys. https, or http on loopback (labs, tests). Required. */
  jwksUri: z.url({ protocol: /^https?$/ }),
  /** Accepted JWS algorithms, a subset of EdDSA, ES256, RS256, PS256. Default: all four. */
  algorithms: z
    .array(z.enum(TOKEN_ALGORITHMS))
    .min(1)
    .default([...TOKEN_ALGORITHMS]),
  /** Clock skew tolerated on exp/nbf/iat, seconds. Default 5, at most 60. */
  clockToleranceSeconds: z.int().min(0).max(60).default(5),
  /** Claims the certificate is built from. */
  claims: z
    .strictObject({
      /** Tried in order; the first string claim present names the user. Default preferred_username, sub. */
      user: z.array(z.string().min(1)).min(1).default(['preferred_username', 'sub']),
      /** The IdP login session. Default `sid` (OpenID Connect Front-/Back-Channel Logout). */
      sid: z.string().min(1).default('sid'),
      /** The IdP role, mapped to a policy role by its `idpRole`. Default `net_role` (the seed's claim). */
      role: z.string().min(1).default('net_role'),
    })
    .prefault({}),
  /** RFC 8693 `act`: who is acting for the user (the MCP server's client id, `act.sub`). */
  actor: z
    .strictObject({
      /** Actors accepted in `act.sub`. A token naming any other actor is refused. Default: none. */
      allowed: z.array(z.string().regex(FIELD_PATTERNS.actor)).default([]),
      /** Refuse tokens without an allowed actor. Default false (a user's own token is accepted). */
      require: z.boolean().default(false),
      /**
       * Where the actor is read. `act` (default): RFC 8693 section 4.1's `act.sub`. `azp`: the client
       * the token was issued to (OpenID Connect Core section 2), for IdPs whose token exchange issues no
       * `act`, such as Keycloak's standard token exchange: there `azp` is the client that authenticated
       * to the token endpoint to exchange the user's token.
       */
      claim: z.enum(['act', 'azp']).default('act'),
    })
    .prefault({}),
  /** How long fetched JWKS keys are used before a refetch, seconds. Default 600. */
  jwksCacheMaxAgeSeconds: z.int().min(1).max(86_400).default(600),
  /** Minimum time between refetches triggered by an unknown `kid`, seconds. Default 30. */
  jwksCooldownSeconds: z.int().min(0).max(3600).default(30),
  /** JWKS request timeout, ms. Default 5000. */
  jwksTimeoutMs: z.int().min(100).max(60_000).default(5000),
  /**
   * Verified tokens remembered (by the SHA-256 of the whole token) until their `exp`, so that a token
   * presented again is answered without a second signature check; the replay cache still refuses it.
   * 0 verifies every request in full. Default 10,000.
   */
  verifiedCacheEntries: z.int().min(0).max(1_000_000).default(10_000),
});

const localBackend = z.strictObject({
  type: z.literal('local'),
  /** Where CA keys are generated on first start (mode 0700 dir, 0600 keys): `user_ca`, `host_ca`. */
  stateDir: z.string().min(1).optional(),
  /** An existing user CA private key (OpenSSH or PKCS#8 PEM, Ed25519). Must not be group/world-readable. */
  userCaKeyFile: z.string().min(1).optional(),
  /** An existing host CA private key; a different key from the user CA. */
  hostCaKeyFile: z.string().min(1).optional(),
});

const vaultAuth = z.discriminatedUnion('method', [
  z.strictObject({
    /** Log in to Vault with the caller's own token (JWT auth method), once per request. */
    method: z.literal('jwt'),
    /** Mount path of the JWT auth method. Default `jwt`. */
    mount: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/)
      .default('jwt'),
    /** Vault JWT role; `{role}` is replaced by the policy role name. Default `{role}`. */
    role: z.string().min(1).default('{role}'),
  }),
  z.strictObject({
    /** Log in with AppRole; the token is reused until two thirds of its lease have passed. */
    method: z.literal('approle'),
    mount: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/)
      .default('approle'),
    /** Files holding role_id and secret_id (never the values themselves in config). */
    roleIdFile: z.string().min(1),
    secretIdFile: z.string().min(1),
  }),
]);

const vaultBackend = z.strictObject({
  type: z.literal('vault'),
  /** Vault or OpenBao address, e.g. https://vault.example:8200. */
  address: z.url({ protocol: /^https?$/ }),
  /** Enterprise/OpenBao namespace (X-Vault-Namespace). */
  namespace: z.string().min(1).optional(),
  /** Mount path of the SSH secrets engine holding the user CA. Default `ssh`. */
  mount: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/)
    .default('ssh'),
  /** Signing role; `{role}` is replaced by the policy role name. Default `{role}`. The Vault role must
   *  set allow_user_key_ids=true, or the Key ID check after signing refuses every certificate. */
  signRole: z.string().min(1).default('{role}'),
  /** Mount and role of a second SSH engine holding the host CA. Optional: no host signing without. */
  hostMount: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/)
    .optional(),
  hostSignRole: z.string().min(1).default('host'),
  auth: vaultAuth,
  /** Per Vault request, ms. Default 5000. */
  timeoutMs: z.int().min(100).max(60_000).default(5000),
});

export const configSchema = z.strictObject({
  listen: z
    .strictObject({
      /** Default 127.0.0.1: expose the broker deliberately (behind TLS), never by accident. */
      host: z.string().min(1).default('127.0.0.1'),
      /** Default 8200. */
      port: z.int().min(0).max(65_535).default(8200),
    })
    .prefault({}),
  token: tokenSchema,
  /** Policy file (see @netward/policy). Default: the built-in default policy. */
  policyFile: z.string().min(1).optional(),
  certificate: z
    .strictObject({
      /** Seconds a certificate is valid before it is issued, for clock skew with devices. Default 5. */
      backdateSeconds: z.int().min(0).max(300).default(5),
      /** When set, every user certificate carries the `source-address` critical option: devices accept
       *  it only from these addresses (the MCP servers). Default: not set. */
      sourceAddress: z.array(cidr).min(1).optional(),
      /** When true, a certificate is bound to one device: the request must name it, and the only
       *  principal is `<role>@<device>`, which only that device's principals files list. A certificate
       *  for a call to spine-a then does not open leaf-2. Default false (principal = role), because a
       *  Vault/OpenBao signing role must allow those principals first. */
      devicePrincipal: z.boolean().default(false),
    })
    .prefault({}),
  rateLimit: z
    .strictObject({
      /** Certificates a user may obtain at once. Default 30. */
      burst: z.int().min(1).max(1_000_000).default(30),
      /** Sustained certificates per user per second. Default 2 (120 per minute). */
      perSecond: z.number().positive().max(1_000_000).default(2),
    })
    .prefault({}),
  backend: z.discriminatedUnion('type', [localBackend, vaultBackend]),
  replay: z
    .strictObject({
      /** Where each token's `jti` is recorded (a log per minute, or one O_EXCL file per token on a
       *  network file system: replay.ts), so that a token yields one
       *  certificate even when several brokers run: point every broker serving this audience at the
       *  same directory on a local file system. Default: `<stateDir>/replay` with the local backend's
       *  stateDir; otherwise unset, and the cache is kept in this process only (a startup warning). */
      directory: z.string().min(1).optional(),
    })
    .prefault({}),
  hostSigning: z
    .strictObject({
      /** File holding the operator bearer token for POST /v1/ssh/sign-host. Absent: endpoint off. */
      operatorTokenFile: z.string().min(1).optional(),
      /** Longest validity of a host certificate, days. Default 365. */
      maxValidityDays: z.int().min(1).max(3650).default(365),
    })
    .prefault({}),
  log: z
    .strictObject({
      /** Default info. Decisions are logged at info, so never set this above info in production. */
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    })
    .prefault({}),
});

export type BrokerConfigInput = z.input<typeof configSchema>;
export type BrokerConfig = DeepReadonly<z.output<typeof configSchema>>;

/** The kit's findings (file, key, line) under this package's code. */
function asConfigError<T>(fn: () => T): T {
  return withKitErrors(fn, (e) => new CaBrokerError('ERR_CA_CONFIG', e.message, { cause: e }));
}

/**
 * Validates a configuration object into a deeply frozen one. `source` names where it came from, and
 * `locate` (from the parsed text) adds line:column to each issue.
 */
export function parseConfig(input: unknown, source = '<config>', locate?: Locate): BrokerConfig {
  const cfg = asConfigError(() =>
    validateConfig(configSchema, input, { source, ...(locate === undefined ? {} : { locate }) }),
  );
  if (cfg.backend.type === 'local' && !cfg.backend.stateDir && !cfg.backend.userCaKeyFile) {
    throw new CaBrokerError('ERR_CA_CONFIG', `${source}: backend: local needs stateDir or userCaKeyFile`);
  }
  if (cfg.token.actor.require && cfg.token.actor.allowed.length === 0) {
    throw new CaBrokerError(
      'ERR_CA_CONFIG',
      `${source}: token.actor.require is true but token.actor.allowed is empty`,
    );
  }
  return cfg;
}

/**
 * Reads and validates a YAML or JSON file. Environment variables NETWARD_CA_BROKER_HOST and
 * NETWARD_CA_BROKER_PORT override listen.host and listen.port (for containers).
 */
export function loadConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): BrokerConfig {
  const { value: raw, locate } = asConfigError(() => parseConfigText(readConfigText(file), file));
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CaBrokerError('ERR_CA_CONFIG', `${file}: (root): expected a mapping`);
  }
  const obj = raw as Record<string, unknown>;
  const host = env['NETWARD_CA_BROKER_HOST'];
  const port = env['NETWARD_CA_BROKER_PORT'];
  if (host !== undefined || port !== undefined) {
    const listen = { ...((obj['listen'] as Record<string, unknown> | undefined) ?? {}) };
    if (host !== undefined) listen['host'] = host;
    if (port !== undefined) listen['port'] = /^\d+$/.test(port) ? Number(port) : port;
    obj['listen'] = listen;
  }
  return parseConfig(obj, file, locate);
}
