// The clients of the lab IdP that are not its own: what a self-registered or metadata-document client
// may ask for, and how their documents are fetched; the key of the IdP's cookies.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { LabError } from '../errors.ts';
import type { IdpConfig } from './config.ts';

/**
 * The key that signs the IdP's cookies: kept beside the store when there is one, so a browser's login
 * cookie still verifies after a restart; random per start otherwise.
 */
export function cookieKey(config: IdpConfig): string {
  if (config.storeFile === undefined) return randomBytes(32).toString('base64url');
  const file = `${config.storeFile}.cookie-key`;
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * oidc-provider's outgoing fetch (used for metadata documents): unchanged, SSRF protection included,
 * except for the configured trusted origins, which get a dispatcher of their own (no special-use
 * address check, TLS verified against the configured CA). Node's fetch is undici; its Agent class is
 * taken from the global dispatcher, as oidc-provider itself does, so no second undici is loaded.
 */
export function metadataDocumentFetch(config: IdpConfig) {
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
