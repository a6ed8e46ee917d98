/// <reference path="./oidc-provider.d.ts" />
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@netward/audit-context';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';
import type Provider from 'oidc-provider';
import { LabError } from '../errors.ts';
import type { IdpConfig, LabUsers } from './config.ts';
import { IDP_SIGNING_ALG, loadUsers } from './config.ts';
import { logGrants, logLogins } from './events.ts';
import { idpHandler } from './interaction.ts';
import { type IdpParts, providerOptions, resourceServers } from './options.ts';
import { registerTokenExchange } from './token-exchange.ts';

export interface LabIdp {
  readonly provider: Provider;
  /** The IdP's HTTP handler: interaction pages first, everything else to oidc-provider. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The public keys, for verifying what the IdP signed (the token exchange uses them). */
  readonly publicJwks: JSONWebKeySet;
}

/** Loads the private JWKS, creating it (mode 0600) on first start so tokens survive an IdP restart. */
export async function loadOrCreateJwks(file: string): Promise<{ keys: JWK[] }> {
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { keys?: JWK[] };
    if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) {
      throw new LabError('ERR_LAB_CONFIG', `${file}: no keys`);
    }
    return { keys: parsed.keys };
  }
  const { privateKey } = await generateKeyPair(IDP_SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const key: JWK = { ...jwk, alg: IDP_SIGNING_ALG, use: 'sig', kid: randomBytes(8).toString('hex') };
  writeFileSync(file, `${JSON.stringify({ keys: [key] })}\n`, { mode: 0o600 });
  return { keys: [key] };
}

function publicOnly(jwks: { keys: JWK[] }): JSONWebKeySet {
  return {
    keys: jwks.keys.map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub }) => pub),
  } as JSONWebKeySet;
}

export interface CreateIdpDeps {
  readonly logger: Logger;
  /** Default: read from config.usersFile. */
  readonly users?: LabUsers;
}

/**
 * Builds the lab IdP: oidc-provider 9 configured as the seed's Keycloak realm would be:
 * - users alice/bob/carol, each with one role (`net_role`), passwords from the lab's state directory;
 * - RFC 8707 resource indicators: access tokens for the MCP server are JWTs (RFC 9068) whose `aud` is
 *   the MCP server's canonical URL and whose `scope` is what the user's role grants;
 * - every access token carries `preferred_username`, `net_role` and `sid` (the login session's id);
 * - RFC 8693 token exchange for the MCP server's confidential client only, issuing broker-audience
 *   tokens with `act: { sub: <mcp client id> }` (section 4.1);
 * - a public MCP agent client: authorization code with PKCE (S256) required;
 * - MCP clients that register themselves: dynamic client registration (RFC 7591, the MCP 2025
 *   revisions' way) and Client ID Metadata Documents (the 2026-07-28 revision's way), both for public
 *   clients only (see `dynamicClientPolicy`);
 * - OAuth 2.1: only the `code` response type, so no `implicit` grant is advertised or accepted.
 */
export async function createIdp(config: IdpConfig, deps: CreateIdpDeps): Promise<LabIdp> {
  const { logger } = deps;
  const users = deps.users ?? loadUsers(config.usersFile);
  const jwks = await loadOrCreateJwks(config.jwksFile);
  const publicJwks = publicOnly(jwks);
  const exchangeSecret = readExchangeSecret(config);
  const allScopes = checkedScopes(config, users);
  const knownScopes = new Set(['openid', 'profile', 'offline_access', ...allScopes]);
  const actors = new WeakMap<object, Record<string, unknown>>();
  const servers = resourceServers(config, allScopes);

  // Loaded here, not at the top: oidc-provider warns on import under Node 20, and only the IdP process
  // needs it (the lab CLI bundles this module too).
  const { default: OidcProvider, errors } = await import('oidc-provider');
  const parts: IdpParts = { config, users, jwks, exchangeSecret, knownScopes, servers, actors, errors };
  const provider = new OidcProvider(config.issuer, providerOptions(parts));
  provider.proxy = false;

  registerTokenExchange(provider, errors, {
    config,
    users,
    publicJwks: createLocalJWKSet(publicJwks),
    actors,
    resourceServer: servers.broker,
    logger,
  });
  logLogins(provider, users, logger);
  logGrants(provider, users, actors, logger);
  return { provider, handler: idpHandler(provider, users, config, logger), publicJwks };
}

/** The exchange client's secret, refused when shorter than 32 characters. */
function readExchangeSecret(config: IdpConfig): string {
  const secret = readFileSync(config.exchangeClient.clientSecretFile, 'utf8').trim();
  if (secret.length < 32) {
    throw new LabError(
      'ERR_LAB_CONFIG',
      `${config.exchangeClient.clientSecretFile}: secret shorter than 32 characters`,
    );
  }
  return secret;
}

/** Every scope some role grants; refuses a user whose role grants none. */
function checkedScopes(config: IdpConfig, users: LabUsers): string[] {
  for (const [user, { role }] of Object.entries(users)) {
    if (config.roles[role] === undefined) {
      throw new LabError('ERR_LAB_CONFIG', `user ${user} has role ${role}, which grants no scopes`);
    }
  }
  return [...new Set(Object.values(config.roles).flat())];
}
