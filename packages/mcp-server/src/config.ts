/**
 * The server's configuration: one YAML file, validated once at startup into a frozen object. Unknown
 * keys are refused; every default is the secure choice and is documented where it is defined.
 * Secrets are never in the file itself: the token exchange client secret is read from its own file.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FIELD_PATTERNS } from '@netward/audit-context';
import {
  deepFreeze,
  KitError,
  loadConfigFile,
  readPrivateFile,
  validateConfig,
  withKitErrors,
} from '@netward/kit';
import { z } from 'zod';
import { McpServerError } from './errors.ts';
import { parseKeyLine } from './ssh/keys.ts';

const url = z.url({ protocol: /^https?$/ });

const deviceSchema = z.strictObject({
  name: z.string().regex(FIELD_PATTERNS.device, 'lower-case letters, digits, dots and dashes'),
  address: z.union([z.ipv4(), z.ipv6(), z.string().regex(/^[a-z0-9][a-z0-9.-]{0,252}$/)]),
  /** Default 22. */
  port: z.number().int().min(1).max(65535).default(22),
  /** Only FRR is supported: commands go through `vtysh -c '...'`. */
  vendor: z.enum(['frr']).default('frr'),
  site: z.string().min(1).max(64).optional(),
  tenant: z.string().min(1).max(64).optional(),
  /**
   * Pinned plain host keys (`ssh-ed25519 AAAA...`). When set, they replace the host CA for this
   * device. A device with neither a pin nor a host CA configured is refused at startup.
   */
  hostKeys: z.array(z.string().min(1)).min(1).optional(),
});

const limitsSchema = z.strictObject({
  /** TCP connect + key exchange + certificate authentication. Default 5 s. */
  connectTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  /** One command on the device. Default 20 s (a 30-hop traceroute needs it). */
  execTimeoutMs: z.number().int().min(100).max(300_000).default(20_000),
  /** Bytes of output kept from stdout and from stderr each. Default 64 KiB. */
  maxOutputBytes: z
    .number()
    .int()
    .min(256)
    .max(4 * 1024 * 1024)
    .default(65_536),
  /** Token exchange at the IdP. Default 5 s. */
  exchangeTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  /** Certificate request to the broker. Default 5 s. */
  brokerTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  /** Session mode: a cached certificate/connection is not reused with less validity left. Default 5 s. */
  renewBeforeExpiryMs: z.number().int().min(1_000).max(60_000).default(5_000),
  /** Largest request body accepted on the MCP endpoint. Default 256 KiB. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(262_144),
});

export const configSchema = z.strictObject({
  listen: z
    .strictObject({
      /** Default 127.0.0.1: a public bind is an explicit choice. */
      host: z.string().min(1).default('127.0.0.1'),
      /** Default 8080; 0 picks a free port. */
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .prefault({}),
  /**
   * The canonical URL of the MCP endpoint as clients reach it, e.g. `https://mcp.example/mcp`. It is
   * the audience access tokens must carry (RFC 8707) and the `resource` of the metadata (RFC 9728).
   */
  publicUrl: url,
  /** Extra values accepted in the Host header (DNS rebinding protection); publicUrl's host always is. */
  allowedHosts: z.array(z.string().min(1)).default([]),
  /** Origins accepted when a browser sends one; publicUrl's origin always is. */
  allowedOrigins: z.array(url).default([]),
  /** Authorization server issuer (exact `iss`). */
  issuer: url,
  /** Default: `jwks_uri` from the issuer's OpenID/OAuth metadata. */
  jwksUri: url.optional(),
  /** JWS algorithms accepted on access tokens. Never `none`, never HMAC (no shared secret exists). */
  algorithms: z
    .array(
      z.enum([
        'RS256',
        'RS384',
        'RS512',
        'PS256',
        'PS384',
        'PS512',
        'ES256',
        'ES384',
        'ES512',
        'EdDSA',
        'Ed25519',
      ]),
    )
    .min(1)
    .default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  /** Claim holding the IdP role. Default `net_role`. */
  roleClaim: z.string().min(1).default('net_role'),
  /** Allowed clock skew on exp/nbf. Default 5 s. */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(5),
  /**
   * Agents' tokens verified in full once, then answered from a cache keyed by the token's SHA-256 until
   * it expires (@netward/bearer `cacheEntries`): an agent sends the same token with every call. 0 turns
   * it off. A key the issuer withdraws goes on vouching for the cached tokens it signed until they expire.
   */
  verifiedTokenCacheEntries: z.int().min(0).max(1_000_000).default(10_000),
  tokenExchange: z.strictObject({
    tokenEndpoint: url,
    clientId: z.string().min(1),
    /** File holding the client secret (client_secret_basic); relative to the config file. */
    clientSecretFile: z.string().min(1),
    /** The CA broker's audience (RFC 8693 `audience`). */
    audience: z.string().min(1),
    /** Also send it as RFC 8707 `resource` (for IdPs that key audiences on resource indicators). */
    resource: z.string().min(1).optional(),
  }),
  broker: z.strictObject({ url }),
  inventory: z.array(deviceSchema).min(1),
  hostCa: z.strictObject({ publicKeyFile: z.string().min(1) }).optional(),
  /** Default: the policy shipped with @netward/policy. */
  policyFile: z.string().min(1).optional(),
  /**
   * Registers `run_raw_command_on_device`, the seed's mis-scoped passthrough, to demonstrate that the
   * device still refuses what the role may not run. Default false; when true a warning is logged at
   * startup and on every call.
   */
  unsafeRawCommandTool: z.boolean().default(false),
  /**
   * Default false: a fresh key and certificate per call. When true, one certificate and one SSH
   * connection per (session, role, device), reused until shortly before the certificate expires.
   */
  sessionMode: z.boolean().default(false),
  limits: limitsSchema.prefault({}),
});

export type ConfigFile = z.infer<typeof configSchema>;
export type DeviceEntry = ConfigFile['inventory'][number];
export type Limits = ConfigFile['limits'];

/** The validated configuration, with files already read. Frozen. */
export interface Config extends Omit<ConfigFile, 'hostCa' | 'tokenExchange' | 'policyFile'> {
  readonly tokenExchange: Omit<ConfigFile['tokenExchange'], 'clientSecretFile'> & {
    /** Never logged: the logger redacts `clientSecret` by name. */
    readonly clientSecret: string;
  };
  /** Host CA public key blobs (`ssh-ed25519`), empty when every device is pinned. */
  readonly hostCaKeys: readonly Buffer[];
  /** Absolute path, when given. */
  readonly policyFile?: string;
}

function fail(file: string, message: string, cause?: unknown): never {
  throw new McpServerError(
    'ERR_MCP_CONFIG',
    `${file}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** The kit's findings (file, key, line) under this package's code. */
function asConfigError<T>(fn: () => T): T {
  return withKitErrors(fn, (e) => new McpServerError('ERR_MCP_CONFIG', e.message, { cause: e }));
}

/**
 * Validates a parsed configuration object. `file` names it in messages and anchors relative paths.
 * `readFile` is injectable for tests; without it the client secret file must be private (0600 or
 * 0400, not a symlink, owned by this process or root), as a key would be.
 */
export function parseConfig(input: unknown, file = '<config>', readFile?: (path: string) => string): Config {
  return finishConfig(
    asConfigError(() => validateConfig(configSchema, input, { source: file })),
    file,
    readFile,
  );
}

const readSecret = (path: string) => readPrivateFile(path, { what: 'client secret file' }).toString('utf8');

function finishConfig(c: ConfigFile, file: string, readFile?: (path: string) => string): Config {
  const base = dirname(resolve(file));
  const read = (p: string, what: string, secret = false) => {
    try {
      return (readFile ?? (secret ? readSecret : (f: string) => readFileSync(f, 'utf8')))(resolve(base, p));
    } catch (cause) {
      const why =
        cause instanceof KitError && cause.code === 'ERR_KIT_FILE_UNSAFE' ? `: ${cause.message}` : '';
      return fail(file, `cannot read ${what} ${p}${why}`, cause);
    }
  };

  const names = new Set<string>();
  for (const [i, d] of c.inventory.entries()) {
    if (names.has(d.name)) fail(file, `inventory.${i}.name: duplicate device ${d.name}`);
    names.add(d.name);
    if (!d.hostKeys && !c.hostCa) {
      fail(file, `inventory.${i}: device ${d.name} has no pinned hostKeys and no hostCa is configured`);
    }
    for (const [k, line] of (d.hostKeys ?? []).entries()) {
      try {
        parseKeyLine(line, 'ERR_MCP_CONFIG');
      } catch (cause) {
        fail(file, `inventory.${i}.hostKeys.${k}: not an OpenSSH public key`, cause);
      }
    }
  }
  const hostCaKeys: Buffer[] = [];
  if (c.hostCa) {
    const text = read(c.hostCa.publicKeyFile, 'hostCa.publicKeyFile');
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) continue;
      let key: ReturnType<typeof parseKeyLine>;
      try {
        key = parseKeyLine(t.replace(/^@cert-authority\s+\S+\s+/, ''), 'ERR_MCP_CONFIG');
      } catch (cause) {
        return fail(file, 'hostCa.publicKeyFile: not an OpenSSH public key', cause);
      }
      // Host certificates are checked with Ed25519 only (see ssh/host-key.ts).
      if (key.type !== 'ssh-ed25519') fail(file, 'hostCa.publicKeyFile: the host CA key must be ssh-ed25519');
      hostCaKeys.push(key.blob);
    }
    if (hostCaKeys.length === 0) fail(file, 'hostCa.publicKeyFile: no key in file');
  }
  const clientSecret = read(c.tokenExchange.clientSecretFile, 'tokenExchange.clientSecretFile', true).trim();
  if (clientSecret === '') fail(file, 'tokenExchange.clientSecretFile is empty');

  const publicUrl = new URL(c.publicUrl);
  if (publicUrl.search !== '' || publicUrl.hash !== '') fail(file, 'publicUrl: no query or fragment allowed');

  const { hostCa: _hostCa, tokenExchange, policyFile, ...rest } = c;
  const config: Config = {
    ...rest,
    // Kept as written: it is what `aud` is compared with, byte for byte (RFC 8707 section 2).
    publicUrl: c.publicUrl,
    tokenExchange: {
      tokenEndpoint: tokenExchange.tokenEndpoint,
      clientId: tokenExchange.clientId,
      audience: tokenExchange.audience,
      ...(tokenExchange.resource === undefined ? {} : { resource: tokenExchange.resource }),
      clientSecret,
    },
    hostCaKeys,
    ...(policyFile === undefined ? {} : { policyFile: resolve(base, policyFile) }),
  };
  return deepFreeze(config);
}

/** Reads and validates a YAML configuration file. Throws ERR_MCP_CONFIG naming the file and key. */
export function loadConfig(file: string): Config {
  return finishConfig(
    asConfigError(() => loadConfigFile(file, configSchema)),
    file,
  );
}
