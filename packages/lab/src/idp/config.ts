import { readFileSync } from 'node:fs';
import { describeIssues, toIssues } from '@netward/kit/validate';
import { z } from 'zod';
import { LabError } from '../errors.ts';

/** RFC 8693 section 3: the token type identifiers this IdP accepts and issues. */
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
/** RFC 8693 section 2.1. */
export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The one signing algorithm of the lab IdP (ID tokens and JWT access tokens, RFC 9068). */
export const IDP_SIGNING_ALG = 'ES256';

const url = z.url({ protocol: /^https?$/ });

/**
 * The lab IdP's configuration, written by `netward-lab up` as JSON and read once at start. Secrets
 * (user passwords, the exchange client's secret, the signing key) live in their own 0600 files in the
 * lab's state directory and are referenced by path, never inlined here.
 */
export const idpConfigSchema = z.strictObject({
  /** Issuer URL; also where the IdP listens (host and port are taken from it). */
  issuer: url,
  /** The address to bind. Default: the issuer's host. */
  host: z.string().min(1).optional(),
  /** JSON file `{ "<user>": { "password": "...", "role": "net-viewer" } }`, mode 0600. */
  usersFile: z.string().min(1),
  /** JSON file holding the private JWKS (`{ keys: [...] }`), created on first start, mode 0600. */
  jwksFile: z.string().min(1),
  /** Where login sessions and grants are kept across restarts (0600); memory only when absent. */
  storeFile: z.string().min(1).optional(),
  /** Role → scopes granted at consent (the policy's rendering for the IdP). */
  roles: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), z.array(z.string().min(1)).min(1)),
  /** The resource server the agents log in for: the MCP server. */
  mcp: z.strictObject({
    /** RFC 8707 resource indicator = the MCP server's canonical URL = the `aud` of its tokens. */
    resource: url,
    /** Access token lifetime in seconds. Default 600: long enough for a demo, short for a lab. */
    accessTokenTtl: z.number().int().min(5).max(3600).default(600),
  }),
  /** The public client an MCP agent uses (authorization code + PKCE, no secret). */
  agentClient: z.strictObject({
    clientId: z.string().min(1).default('mcp-agent'),
    redirectUris: z.array(url).min(1),
  }),
  /** The confidential client of the MCP server, allowed only the token exchange grant. */
  exchangeClient: z.strictObject({
    clientId: z.string().min(1).default('netward-mcp-server'),
    clientSecretFile: z.string().min(1),
  }),
  /**
   * Client ID Metadata Documents: by default fetched only from public addresses (oidc-provider's SSRF
   * protection refuses loopback and private ones). Origins listed here are fetched wherever they
   * resolve, over TLS verified against `caFile` (PEM) when given: for a lab or a test whose clients
   * publish their document on this machine. Default: none.
   */
  clientMetadataDocuments: z
    .strictObject({
      trustedOrigins: z.array(url).default([]),
      caFile: z.string().min(1).optional(),
    })
    .prefault({}),
  /** The CA broker: audience of the exchanged tokens. */
  broker: z.strictObject({
    audience: z.string().min(1),
    /** Default 60 s: the exchanged token only has to reach the broker once. */
    accessTokenTtl: z.number().int().min(5).max(600).default(60),
  }),
});

export type IdpConfig = Readonly<z.infer<typeof idpConfigSchema>>;

export function parseIdpConfig(value: unknown, source = 'idp config'): IdpConfig {
  const result = idpConfigSchema.safeParse(value);
  if (!result.success) {
    throw new LabError('ERR_LAB_CONFIG', describeIssues(source, toIssues(result.error.issues)), {
      cause: result.error,
    });
  }
  return Object.freeze(result.data);
}

export function loadIdpConfig(file: string): IdpConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new LabError('ERR_LAB_CONFIG', `${file}: cannot read JSON`, { cause });
  }
  return parseIdpConfig(raw, file);
}

export const usersFileSchema = z.record(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/),
  z.strictObject({ password: z.string().min(8), role: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/) }),
);

export type LabUsers = Readonly<z.infer<typeof usersFileSchema>>;

export function loadUsers(file: string): LabUsers {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new LabError('ERR_LAB_CONFIG', `${file}: cannot read JSON`, { cause });
  }
  const result = usersFileSchema.safeParse(raw);
  if (!result.success)
    throw new LabError('ERR_LAB_CONFIG', `${file}: invalid users file`, { cause: result.error });
  return Object.freeze(result.data);
}
