// oidc-provider's configuration for the lab IdP, in parts: the static clients, the features (dynamic
// registration, metadata documents, resource indicators), lifetimes, accounts and token claims.
import type { JWK } from 'jose';
import type { AccessTokenInstance, OidcClient, errors as OidcErrors } from 'oidc-provider';
import { cookieKey, dynamicClientPolicy, metadataDocumentFetch } from './clients.ts';
import type { IdpConfig, LabUsers } from './config.ts';
import { GRANT_TYPE_TOKEN_EXCHANGE, IDP_SIGNING_ALG } from './config.ts';
import { fileAdapter } from './store.ts';

/** What the lab IdP's options are built from. */
export interface IdpParts {
  readonly config: IdpConfig;
  readonly users: LabUsers;
  readonly jwks: { keys: JWK[] };
  readonly exchangeSecret: string;
  /** Every scope a client may register for: OpenID's and every scope a role grants. */
  readonly knownScopes: ReadonlySet<string>;
  readonly servers: ResourceServers;
  /** The acting party of an exchanged token, by token object (RFC 8693 section 4.1 `act`). */
  readonly actors: WeakMap<object, Record<string, unknown>>;
  readonly errors: typeof OidcErrors;
}

export type ResourceServers = ReturnType<typeof resourceServers>;

/** The two audiences the IdP issues JWT access tokens for (RFC 9068): the MCP server and the broker. */
export function resourceServers(config: IdpConfig, allScopes: readonly string[]) {
  const server = (audience: string, accessTokenTTL: number) => ({
    scope: allScopes.join(' '),
    audience,
    accessTokenTTL,
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: IDP_SIGNING_ALG } },
  });
  return {
    mcp: server(config.mcp.resource, config.mcp.accessTokenTtl),
    broker: server(config.broker.audience, config.broker.accessTokenTtl),
  };
}

/** oidc-provider's configuration object for the lab IdP. */
export function providerOptions(parts: IdpParts) {
  const { config, jwks, exchangeSecret, knownScopes, errors } = parts;
  const exchangeId = config.exchangeClient.clientId;
  const fetchDocument = metadataDocumentFetch(config);
  return {
    jwks,
    clients: staticClients(config, exchangeSecret),
    clientDefaults: {
      id_token_signed_response_alg: IDP_SIGNING_ALG,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    // MCP clients register for refresh tokens (mcp-remote asks for `refresh_token`); they get them
    // when they registered for the grant. oidc-provider rotates a public client's refresh token on
    // every use (OAuth 2.1 section 4.3.1), and a refreshed token still names the login session, whose
    // end stops the exchange.
    issueRefreshToken: async (_ctx: unknown, client: OidcClient) =>
      (client as unknown as { grantTypeAllowed(type: string): boolean }).grantTypeAllowed('refresh_token'),
    // OAuth 2.1 section 10.1: the implicit grant is gone. oidc-provider advertises (and accepts)
    // `implicit` whenever a response type issues tokens from the authorization endpoint.
    responseTypes: ['code'],
    extraClientMetadata: {
      // RFC 7591 section 2 `software_id`; listed so that the validator below runs for every client.
      properties: ['software_id'],
      validator: (ctx: unknown, _key: string, _value: unknown, metadata: Record<string, unknown>) =>
        dynamicClientPolicy(ctx, metadata, errors.InvalidClientMetadata, exchangeId, knownScopes),
    },
    cookies: { keys: [cookieKey(config)] },
    ...(config.storeFile !== undefined ? { adapter: fileAdapter(config.storeFile) } : {}),
    ...(fetchDocument ? { fetch: fetchDocument } : {}),
    claims: { openid: ['sub'], profile: ['preferred_username', 'net_role'] },
    scopes: ['openid', 'profile'],
    pkce: { required: () => true },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: idpFeatures(parts),
    ttl: LIFETIMES,
    ...accountsAndClaims(parts),
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${out['error'] ?? 'error'}: ${out['error_description'] ?? ''}\n`;
    },
  };
}

/** The agent's public PKCE client and the MCP server's confidential token-exchange client. */
function staticClients(config: IdpConfig, exchangeSecret: string) {
  return [
    {
      client_id: config.agentClient.clientId,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: config.agentClient.redirectUris,
      id_token_signed_response_alg: IDP_SIGNING_ALG,
    },
    {
      client_id: config.exchangeClient.clientId,
      client_secret: exchangeSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [GRANT_TYPE_TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
      id_token_signed_response_alg: IDP_SIGNING_ALG,
    },
  ];
}

function idpFeatures({ config, servers, errors }: IdpParts) {
  const exchangeId = config.exchangeClient.clientId;
  return {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    // RFC 7591 open registration: an MCP client registers itself before its first login. Without
    // an initial access token anyone can register, so what a registration may ask for is narrowed
    // in `dynamicClientPolicy`; a registered client can do no more than `mcp-agent`.
    registration: { enabled: true, initialAccessToken: false },
    // The document at an https client_id URL describes the client (draft-ietf-oauth-client-id-
    // metadata-document-02). oidc-provider fetches it with its SSRF protection: documents on
    // loopback or private addresses are not fetched.
    clientIdMetadataDocument: { enabled: true, ack: 'draft-02' },
    resourceIndicators: {
      enabled: true,
      // An agent that omits `resource` still gets a token for the MCP server, the only resource it
      // may ask for; the exchange client's only resource is the broker.
      defaultResource: async (_ctx: unknown, client: OidcClient, oneOf?: string | string[]) =>
        oneOf ?? (client.clientId === exchangeId ? config.broker.audience : config.mcp.resource),
      useGrantedResource: async () => true,
      // Every client but the MCP server's own is an agent: the static one, registered ones and
      // metadata-document ones. Agents get MCP-audience tokens only (RFC 8707 section 2).
      getResourceServerInfo: async (_ctx: unknown, indicator: string, client: OidcClient) => {
        if (indicator === config.mcp.resource && client.clientId !== exchangeId) return servers.mcp;
        if (indicator === config.broker.audience && client.clientId === exchangeId) return servers.broker;
        throw new errors.InvalidTarget('unknown resource for this client');
      },
    },
  };
}

const LIFETIMES = {
  AccessToken: (_ctx: unknown, token: AccessTokenInstance) => token.resourceServer?.accessTokenTTL ?? 60,
  AuthorizationCode: 60,
  IdToken: 600,
  Interaction: 600,
  Grant: 8 * 3600,
  Session: 8 * 3600,
};

/** The lab's users as accounts, and the claims every access token carries: user, role, session, actor. */
function accountsAndClaims({ users, actors }: IdpParts) {
  return {
    findAccount: async (_ctx: unknown, sub: string) => {
      const user = users[sub];
      if (user === undefined) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, preferred_username: sub, net_role: user.role }),
      };
    },
    extraTokenClaims: async (_ctx: unknown, token: AccessTokenInstance) => {
      const sub = token.accountId;
      const user = sub === undefined ? undefined : users[sub];
      if (sub === undefined || user === undefined) return undefined;
      const extra: Record<string, unknown> = { preferred_username: sub, net_role: user.role };
      if (token.sessionUid !== undefined) extra['sid'] = token.sessionUid;
      const act = actors.get(token);
      if (act !== undefined) extra['act'] = act;
      return extra;
    },
  };
}
