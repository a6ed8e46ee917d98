/// <reference path="./oidc-provider.d.ts" />
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@netward/audit-context';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';
import type Provider from 'oidc-provider';
import type { AccessTokenInstance, OidcClient, OidcContext } from 'oidc-provider';
import { LabError } from '../errors.ts';
import type { IdpConfig, LabUsers } from './config.ts';
import { GRANT_TYPE_TOKEN_EXCHANGE, IDP_SIGNING_ALG, loadUsers } from './config.ts';
import { fileAdapter } from './store.ts';
import { registerTokenExchange } from './token-exchange.ts';

export interface LabIdp {
  readonly provider: Provider;
  /** The IdP's HTTP handler: interaction pages first, everything else to oidc-provider. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The public keys, for verifying what the IdP signed (the token exchange uses them). */
  readonly publicJwks: JSONWebKeySet;
}

/**
 * The key that signs the IdP's cookies: kept beside the store when there is one, so a browser's login
 * cookie still verifies after a restart; random per start otherwise.
 */
function cookieKey(config: IdpConfig): string {
  if (config.storeFile === undefined) return randomBytes(32).toString('base64url');
  const file = `${config.storeFile}.cookie-key`;
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
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

/** Compares a submitted password with the stored one without leaking where they differ. */
function passwordMatches(stored: string, submitted: string): boolean {
  const a = createHash('sha256').update(stored).digest();
  const b = createHash('sha256').update(submitted).digest();
  return timingSafeEqual(a, b);
}

/**
 * oidc-provider's outgoing fetch (used for metadata documents): unchanged, SSRF protection included,
 * except for the configured trusted origins, which get a dispatcher of their own (no special-use
 * address check, TLS verified against the configured CA). Node's fetch is undici; its Agent class is
 * taken from the global dispatcher, as oidc-provider itself does, so no second undici is loaded.
 */
function metadataDocumentFetch(config: IdpConfig) {
  const trusted = new Set(config.clientMetadataDocuments.trustedOrigins.map((o) => new URL(o).origin));
  if (trusted.size === 0) return undefined;
  const g = globalThis as unknown as Record<
    symbol,
    { constructor: new (opts: unknown) => unknown } | undefined
  >;
  const Agent = (g[Symbol.for('undici.globalDispatcher.2')] ?? g[Symbol.for('undici.globalDispatcher.1')])
    ?.constructor;
  if (Agent === undefined)
    throw new LabError('ERR_LAB_CONFIG', 'no undici Agent to fetch metadata documents');
  const { caFile } = config.clientMetadataDocuments;
  const dispatcher = new Agent(caFile ? { connect: { ca: readFileSync(caFile, 'utf8') } } : {});
  return (url: string | URL, options: RequestInit & { dispatcher?: unknown }) =>
    trusted.has(new URL(url).origin)
      ? globalThis.fetch(url, { ...options, dispatcher } as RequestInit)
      : globalThis.fetch(url, options);
}

/** What a loopback or https redirect URI looks like (RFC 8252 sections 7.3 and 8.3; OAuth 2.1 2.3.1). */
function allowedRedirect(uri: unknown): boolean {
  if (typeof uri !== 'string') return false;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return false;
  }
  if (u.hash !== '' || u.username !== '' || u.password !== '') return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
}

/**
 * The limits on clients that describe themselves (registration or metadata document; static clients,
 * validated without a request context, are the lab's own): public clients using the authorization
 * code grant with PKCE and nothing else, redirecting to loopback or https only. Anything else is
 * `invalid_client_metadata` (RFC 7591 section 3.2.2), never silently narrowed.
 */
export function dynamicClientPolicy(
  ctx: unknown,
  metadata: Record<string, unknown>,
  InvalidClientMetadata: new (description: string) => Error,
  exchangeClientId: string,
  knownScopes: ReadonlySet<string>,
): void {
  if (ctx === undefined) return;
  const refuse = (why: string): never => {
    throw new InvalidClientMetadata(why);
  };
  // MCP clients register the scopes the protected resource metadata lists (the MCP scopes, which
  // are resource scopes here, not OpenID ones). Unknown ones are refused; known ones are not kept as
  // a per-client limit, because what a token carries is decided per user at consent, by role
  // (RFC 7591 section 3.2.1 lets the server return different metadata from what was asked).
  if (metadata['scope'] !== undefined) {
    const asked = String(metadata['scope']).split(' ').filter(Boolean);
    if (asked.some((sc) => !knownScopes.has(sc))) refuse('scope names a scope this server does not know');
    delete metadata['scope'];
  }
  if (metadata['client_id'] === exchangeClientId) refuse('client_id is reserved');
  if (metadata['token_endpoint_auth_method'] !== 'none') {
    refuse('only public clients may register: token_endpoint_auth_method must be none');
  }
  const grants = metadata['grant_types'];
  if (!Array.isArray(grants) || grants.some((g) => g !== 'authorization_code' && g !== 'refresh_token')) {
    refuse('grant_types may only be authorization_code and refresh_token');
  }
  const responses = metadata['response_types'];
  if (!Array.isArray(responses) || responses.some((r) => r !== 'code')) {
    refuse('response_types may only be code');
  }
  const redirects = metadata['redirect_uris'];
  if (!Array.isArray(redirects) || redirects.length === 0 || !redirects.every(allowedRedirect)) {
    refuse('redirect_uris must be loopback http or https URLs');
  }
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
  const exchangeSecret = readFileSync(config.exchangeClient.clientSecretFile, 'utf8').trim();
  if (exchangeSecret.length < 32) {
    throw new LabError(
      'ERR_LAB_CONFIG',
      `${config.exchangeClient.clientSecretFile}: secret shorter than 32 characters`,
    );
  }

  const allScopes = [...new Set(Object.values(config.roles).flat())];
  const knownScopes = new Set(['openid', 'profile', 'offline_access', ...allScopes]);
  for (const [user, { role }] of Object.entries(users)) {
    if (config.roles[role] === undefined) {
      throw new LabError('ERR_LAB_CONFIG', `user ${user} has role ${role}, which grants no scopes`);
    }
  }

  /** The acting party of an exchanged token, by token object (RFC 8693 section 4.1 `act`). */
  const actors = new WeakMap<object, Record<string, unknown>>();

  const agentId = config.agentClient.clientId;
  const exchangeId = config.exchangeClient.clientId;

  const resourceServers = {
    mcp: {
      scope: allScopes.join(' '),
      audience: config.mcp.resource,
      accessTokenTTL: config.mcp.accessTokenTtl,
      accessTokenFormat: 'jwt' as const,
      jwt: { sign: { alg: IDP_SIGNING_ALG } },
    },
    broker: {
      scope: allScopes.join(' '),
      audience: config.broker.audience,
      accessTokenTTL: config.broker.accessTokenTtl,
      accessTokenFormat: 'jwt' as const,
      jwt: { sign: { alg: IDP_SIGNING_ALG } },
    },
  };

  // Loaded here, not at the top: oidc-provider warns on import under Node 20, and only the IdP process
  // needs it (the lab CLI bundles this module too).
  const { default: OidcProvider, errors } = await import('oidc-provider');
  const fetchDocument = metadataDocumentFetch(config);
  const provider = new OidcProvider(config.issuer, {
    jwks,
    clients: [
      {
        client_id: agentId,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: config.agentClient.redirectUris,
        id_token_signed_response_alg: IDP_SIGNING_ALG,
      },
      {
        client_id: exchangeId,
        client_secret: exchangeSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [GRANT_TYPE_TOKEN_EXCHANGE],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: IDP_SIGNING_ALG,
      },
    ],
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
    features: {
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
          if (indicator === config.mcp.resource && client.clientId !== exchangeId) return resourceServers.mcp;
          if (indicator === config.broker.audience && client.clientId === exchangeId)
            return resourceServers.broker;
          throw new errors.InvalidTarget('unknown resource for this client');
        },
      },
    },
    ttl: {
      AccessToken: (_ctx: unknown, token: AccessTokenInstance) => token.resourceServer?.accessTokenTTL ?? 60,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Grant: 8 * 3600,
      Session: 8 * 3600,
    },
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
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${out['error'] ?? 'error'}: ${out['error_description'] ?? ''}\n`;
    },
  });
  provider.proxy = false;

  registerTokenExchange(provider, errors, {
    config,
    users,
    publicJwks: createLocalJWKSet(publicJwks),
    actors,
    resourceServer: resourceServers.broker,
    logger,
  });

  // LOGIN: the first authorization resumed after a successful login interaction. The session's uid is
  // the `sid` every token of this login carries (oidc-provider's per-client `sid` would differ per
  // client, which is useless for correlating the agent's token with the exchanged one).
  (
    provider as unknown as { use(fn: (ctx: OidcContext, next: () => Promise<void>) => Promise<void>): void }
  ).use(async (ctx, next) => {
    await next();
    const oidc = ctx.oidc as OidcContext['oidc'] | undefined;
    const login = oidc?.result?.['login'] as { accountId?: string } | undefined;
    if (oidc?.route === 'resume' && login?.accountId !== undefined && oidc.session !== undefined) {
      const role = users[login.accountId]?.role;
      logger.info(
        {
          event: 'login',
          user: login.accountId,
          sid: oidc.session.uid,
          ...(role ? { role } : {}),
          decision: 'ok',
        },
        `LOGIN userId=${login.accountId} sessionId=${oidc.session.uid}`,
      );
    }
  });

  provider.on('grant.success', (ctx: OidcContext) => {
    const at = ctx.oidc.entities['AccessToken'] as AccessTokenInstance | undefined;
    if (at === undefined) return;
    const user = at.accountId;
    const role = user === undefined ? undefined : users[user]?.role;
    const act = actors.get(at);
    logger.info(
      {
        event: 'token_issued',
        ...(user !== undefined ? { user } : {}),
        ...(at.sessionUid !== undefined ? { sid: at.sessionUid } : {}),
        ...(role !== undefined ? { role } : {}),
        decision: 'issued',
        grant_type: at.gty,
        client_id: ctx.oidc.client?.clientId,
        audience: at.resourceServer?.audience,
        scope: at.scope,
        jti: at.jti,
        ...(act !== undefined ? { actor: act['sub'] } : {}),
      },
      'access token issued',
    );
  });
  provider.on(
    'grant.error',
    (ctx: OidcContext, err: Error & { error?: string; error_description?: string }) => {
      logger.warn(
        {
          event: 'token_refused',
          decision: 'refused',
          grant_type: ctx.oidc.params?.['grant_type'],
          client_id: ctx.oidc.client?.clientId,
          error: err.error,
          detail: err.error_description,
        },
        'token request refused',
      );
    },
  );
  provider.on('server_error', (_ctx: unknown, err: Error) => {
    logger.error({ event: 'server_error', err }, 'IdP internal error');
  });

  const oidcHandler = provider.callback();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/interaction/')) {
      handleInteraction(provider, users, config, logger, req, res).catch((err: unknown) => {
        logger.warn({ event: 'interaction_error', err }, 'interaction failed');
        if (!res.headersSent) {
          res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('interaction failed\n');
        } else res.end();
      });
      return;
    }
    oidcHandler(req, res);
  };

  return { provider, handler, publicJwks };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) throw new LabError('ERR_LAB_LOGIN', 'form body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An interaction page. `form-action` also governs where the form's redirects may lead (CSP 3,
 * "form-action"; Chromium enforces it on every hop): after the last form the IdP redirects the browser
 * to the client's redirect URI, so that origin is allowed too. Measured with headless chromium: with
 * `form-action 'self'` alone, the redirect to a loopback client was blocked and the login never
 * reached the client.
 */
function page(res: ServerResponse, title: string, body: string, redirectUri?: unknown): void {
  let target = '';
  try {
    if (typeof redirectUri === 'string') target = ` ${new URL(redirectUri).origin}`;
  } catch {
    target = '';
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; form-action 'self'${target}`,
  });
  res.end(
    `<!doctype html><html><head><title>${escapeHtml(title)}</title></head><body>${body}</body></html>\n`,
  );
}

/**
 * The login and consent pages: plain HTML forms, so that a browser and the lab's login driver
 * (src/idp/login.ts) go through exactly the same requests.
 *   GET  /interaction/<uid>          the form of the current prompt (login or consent)
 *   POST /interaction/<uid>/login    username + password
 *   POST /interaction/<uid>/confirm  consent: grants the requested scopes the user's role allows
 */
async function handleInteraction(
  provider: Provider,
  users: LabUsers,
  config: IdpConfig,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  const path = (req.url ?? '').split('?')[0] ?? '';
  const action = path.slice(`/interaction/${uid}`.length);

  if (req.method === 'GET' && action === '') {
    if (prompt.name === 'login') {
      page(
        res,
        'Sign in',
        `<h1 data-prompt="login">Sign in to the netward lab</h1>` +
          `<form method="post" action="/interaction/${escapeHtml(uid)}/login">` +
          `<input name="username" autocomplete="username"> <input name="password" type="password">` +
          `<button type="submit">Sign in</button></form>`,
        params['redirect_uri'],
      );
      return;
    }
    const scopes = String(params['scope'] ?? '');
    page(
      res,
      'Authorize',
      `<h1 data-prompt="consent">Allow ${escapeHtml(String(params['client_id']))}</h1><p>${escapeHtml(scopes)}</p>` +
        `<form method="post" action="/interaction/${escapeHtml(uid)}/confirm"><button type="submit">Allow</button></form>`,
      params['redirect_uri'],
    );
    return;
  }

  if (req.method === 'POST' && action === '/login' && prompt.name === 'login') {
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    const user = Object.hasOwn(users, username) ? users[username] : undefined;
    if (user === undefined || !passwordMatches(user.password, password)) {
      // The operator sees which name was tried when it is one of ours; the browser sees nothing more.
      logger.warn(
        { event: 'login', decision: 'refused', ...(user !== undefined ? { user: username } : {}) },
        'LOGIN refused: bad credentials',
      );
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'invalid credentials' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: username } },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  if (req.method === 'POST' && action === '/confirm' && prompt.name === 'consent') {
    await readForm(req);
    const accountId = details.session?.accountId;
    const user = accountId === undefined ? undefined : users[accountId];
    if (accountId === undefined || user === undefined) {
      throw new LabError('ERR_LAB_LOGIN', 'consent without a logged-in account');
    }
    const allowed = new Set(config.roles[user.role] ?? []);
    const clientId = String(params['client_id']);
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope && missingOIDCScope.length > 0) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims && missingOIDCClaims.length > 0) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
      const granted = scopes.filter((s) => allowed.has(s));
      const rejected = scopes.filter((s) => !allowed.has(s));
      // Rejected scopes are recorded as decided, so the consent prompt does not come back for them;
      // the token then carries only what the role allows (least privilege at the source).
      if (granted.length > 0) grant.addResourceScope(indicator, granted.join(' '));
      if (rejected.length > 0) grant.rejectResourceScope(indicator, rejected.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('unexpected interaction request\n');
}
