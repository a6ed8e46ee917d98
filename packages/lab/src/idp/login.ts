import { createHash, randomBytes } from 'node:crypto';
import { LabError } from '../errors.ts';

export interface LoginOptions {
  /** The IdP's issuer URL (discovery at `/.well-known/openid-configuration`). */
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectUri: string;
  /** RFC 8707 resource indicator: the MCP server's canonical URL. */
  readonly resource: string;
  /** Requested scopes (space separated). The role decides what is granted. */
  readonly scope: string;
  readonly username: string;
  readonly password: string;
  /** Per-request time limit in milliseconds. Default 10 000. */
  readonly timeoutMs?: number;
}

export interface LoginResult {
  readonly accessToken: string;
  readonly idToken?: string;
  readonly tokenType: string;
  readonly expiresIn: number;
  /** The scopes actually granted. */
  readonly scope: string;
}

interface Discovery {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
}

/** A minimal cookie jar: name → value, as the IdP sets them. Paths are ignored (one IdP, one flow). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair === undefined || eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function fail(step: string, detail: string, cause?: unknown): never {
  throw new LabError(
    'ERR_LAB_LOGIN',
    `login failed at ${step}: ${detail}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Logs a user in the way a browser-based MCP agent would, without a browser: the OAuth 2.1
 * authorization code flow with PKCE (RFC 7636, S256) and a resource indicator (RFC 8707).
 *
 *   1. discovery; a fresh code_verifier, state and nonce
 *   2. GET authorize → the IdP's login page; POST username and password
 *   3. the consent page; POST confirm (the IdP grants what the user's role allows)
 *   4. the redirect to redirect_uri carries code, state and iss (RFC 9207); all three are checked
 *   5. POST token: code + code_verifier + resource → a JWT access token for the MCP server
 *
 * Every redirect is followed by hand so that the cookies and the final redirect stay visible. The
 * redirect URI is never contacted: the code is read from the Location header.
 */
export async function loginWithPkce(options: LoginOptions): Promise<LoginResult> {
  const request = browser(options.timeoutMs ?? 10_000);
  const discoveryRes = await request(new URL('/.well-known/openid-configuration', options.issuer).href);
  if (!discoveryRes.ok) fail('discovery', `HTTP ${discoveryRes.status}`);
  const discovery = (await discoveryRes.json()) as Discovery;
  const pkce = authorizationRequest(discovery, options);
  const code = await followToCode(request, pkce, discovery.issuer, options);
  return redeemCode(request, discovery, code, pkce.verifier, options);
}

/** One HTTP request as the browser makes it: the cookies of the ones before, no redirect followed. */
type BrowserRequest = (url: string, init?: RequestInit) => Promise<Response>;

function browser(timeout: number): BrowserRequest {
  const jar = new CookieJar();
  return async (url, init = {}) => {
    const headers = new Headers(init.headers);
    const cookie = jar.header();
    if (cookie) headers.set('cookie', cookie);
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(timeout) });
    } catch (cause) {
      return fail('http', `${init.method ?? 'GET'} ${new URL(url).pathname} did not answer`, cause);
    }
    jar.store(res);
    return res;
  };
}

interface AuthorizationRequest {
  readonly url: string;
  readonly verifier: string;
  readonly state: string;
}

/** Step 1: the authorize URL with a fresh code_verifier (S256 challenge), state and nonce. */
function authorizationRequest(discovery: Discovery, options: LoginOptions): AuthorizationRequest {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    scope: options.scope,
    resource: options.resource,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  return { url: authorize.href, verifier, state };
}

/** Steps 2-4: authorize, the login and consent pages, their redirects, until the one to redirect_uri. */
async function followToCode(
  request: BrowserRequest,
  pkce: AuthorizationRequest,
  issuer: string,
  options: LoginOptions,
): Promise<string> {
  let url = pkce.url;
  let res = await request(url);
  // login + consent + the resumes and their redirects: a dozen hops at most.
  for (let hop = 0; hop < 16; hop++) {
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      if (!location) fail('redirect', `HTTP ${res.status} without Location`);
      await res.arrayBuffer();
      const next = new URL(location, url);
      if (next.href.startsWith(options.redirectUri)) return codeFromRedirect(next, pkce.state, issuer);
      url = next.href;
      res = await request(url);
      continue;
    }
    if (res.status !== 200) fail('authorize', `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const page = interactionForm(await res.text(), options);
    url = new URL(page.action, url).href;
    res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: page.form.toString(),
    });
  }
  return fail('authorize', 'too many redirects');
}

/** Step 4: the redirect carries code, state and iss (RFC 9207); all three are checked. */
function codeFromRedirect(next: URL, state: string, issuer: string): string {
  const error = next.searchParams.get('error');
  if (error) fail('authorize', `${error}: ${next.searchParams.get('error_description') ?? ''}`);
  if (next.searchParams.get('state') !== state) fail('authorize', 'state mismatch');
  const iss = next.searchParams.get('iss');
  if (iss !== null && iss !== issuer) fail('authorize', 'iss mismatch (RFC 9207)');
  return next.searchParams.get('code') ?? fail('authorize', 'no code in the redirect');
}

/** Steps 2-3: the login page gets username and password, the consent page an empty confirm. */
function interactionForm(html: string, options: LoginOptions): { action: string; form: URLSearchParams } {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (action === undefined) fail('interaction', 'no form on the page');
  const form = new URLSearchParams();
  if (/data-prompt="login"/.test(html)) {
    form.set('username', options.username);
    form.set('password', options.password);
  } else if (!/data-prompt="consent"/.test(html)) {
    fail('interaction', 'unknown prompt');
  }
  return { action: action.replace(/&amp;/g, '&'), form };
}

/** Step 5: code + code_verifier + resource at the token endpoint → the access token. */
async function redeemCode(
  request: BrowserRequest,
  discovery: Discovery,
  code: string,
  verifier: string,
  options: LoginOptions,
): Promise<LoginResult> {
  const tokenRes = await request(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: options.redirectUri,
      code_verifier: verifier,
      client_id: options.clientId,
      resource: options.resource,
    }).toString(),
  });
  const body = (await tokenRes.json()) as Record<string, unknown>;
  if (!tokenRes.ok || typeof body['access_token'] !== 'string') {
    fail('token', `${String(body['error'] ?? tokenRes.status)}: ${String(body['error_description'] ?? '')}`);
  }
  return {
    accessToken: body['access_token'] as string,
    ...(typeof body['id_token'] === 'string' ? { idToken: body['id_token'] } : {}),
    tokenType: String(body['token_type']),
    expiresIn: Number(body['expires_in']),
    scope: String(body['scope'] ?? ''),
  };
}

export interface ExchangeOptions {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly subjectToken: string;
  readonly audience: string;
}

/** RFC 8693 token exchange as the MCP server does it (used by tests to obtain a broker token). */
export async function exchangeToken(
  options: ExchangeOptions,
): Promise<{ accessToken: string; expiresIn: number }> {
  const res = await fetch(options.tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(
        `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
      ).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: options.subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: options.audience,
    }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok || typeof body['access_token'] !== 'string') {
    fail(
      'token exchange',
      `${String(body['error'] ?? res.status)}: ${String(body['error_description'] ?? '')}`,
    );
  }
  return { accessToken: body['access_token'] as string, expiresIn: Number(body['expires_in']) };
}
