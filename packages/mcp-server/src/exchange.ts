/**
 * OAuth 2.0 Token Exchange (RFC 8693) at the identity provider: the caller's access token (whose
 * audience is this server) becomes a token for the CA broker. The MCP authorization spec forbids
 * passing the caller's token on ("Access Token Privilege Restriction", token passthrough), so this is
 * the only way the broker learns who is calling; an IdP that supports it records this server as the
 * actor (`act`, RFC 8693 section 4.1).
 *
 * The request is the plain standard one, so it works with oidc-provider and Keycloak alike:
 * client_secret_basic (RFC 6749 section 2.3.1) and the section 2.1 form parameters.
 */
import { McpServerError } from './errors.ts';

export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

export interface TokenExchangeOptions {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly audience: string;
  readonly resource?: string | undefined;
  readonly timeoutMs: number;
}

export interface ExchangedToken {
  readonly accessToken: string;
  /** Seconds, when the IdP said. */
  readonly expiresIn: number | undefined;
}

export type TokenExchanger = (subjectToken: string) => Promise<ExchangedToken>;

/** RFC 6749 section 2.3.1: each part form-urlencoded before the Basic encoding. */
function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** RFC 8693 section 2.2: the IdP's answer as a usable issued token, or the coded refusal. */
function exchangeAnswer(status: number, text: string): Record<string, unknown> {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // handled below
  }
  if (status >= 500) {
    throw new McpServerError('ERR_MCP_EXCHANGE_UNAVAILABLE', `token endpoint failed with HTTP ${status}`);
  }
  if (status < 200 || status > 299) {
    // RFC 6749 section 5.2 error codes are safe to log; the description is the IdP's operator text.
    const error = typeof body['error'] === 'string' ? body['error'].slice(0, 64) : 'unknown';
    // invalid_grant: the subject token itself is no longer good (RFC 8693 section 2.2.2), e.g. its
    // login session ended when the IdP restarted. Only a new login helps: the caller gets a 401.
    if (error === 'invalid_grant') {
      throw new McpServerError('ERR_MCP_LOGIN_ENDED', `token exchange refused: HTTP ${status} invalid_grant`);
    }
    throw new McpServerError('ERR_MCP_EXCHANGE_REFUSED', `token exchange refused: HTTP ${status} ${error}`);
  }
  const token = body['access_token'];
  const tokenType = body['token_type'];
  if (typeof token !== 'string' || token.length === 0 || typeof tokenType !== 'string') {
    throw new McpServerError(
      'ERR_MCP_EXCHANGE_REFUSED',
      'token exchange answer lacks access_token/token_type',
    );
  }
  if (tokenType.toLowerCase() !== 'bearer') {
    throw new McpServerError('ERR_MCP_EXCHANGE_REFUSED', 'token exchange issued a non-bearer token');
  }
  const issued = body['issued_token_type'];
  if (
    issued !== undefined &&
    issued !== TOKEN_TYPE_ACCESS_TOKEN &&
    issued !== 'urn:ietf:params:oauth:token-type:jwt'
  ) {
    throw new McpServerError('ERR_MCP_EXCHANGE_REFUSED', 'token exchange issued an unexpected token type');
  }
  return body;
}

export function createTokenExchanger(options: TokenExchangeOptions): TokenExchanger {
  const authorization = basicAuth(options.clientId, options.clientSecret);
  return async (subjectToken) => {
    const form = new URLSearchParams({
      grant_type: GRANT_TYPE_TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      requested_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: options.audience,
    });
    if (options.resource !== undefined) form.set('resource', options.resource);
    const signal = AbortSignal.timeout(options.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(options.tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form,
        signal,
        redirect: 'error',
      });
      text = await res.text();
    } catch (cause) {
      throw new McpServerError(
        'ERR_MCP_EXCHANGE_UNAVAILABLE',
        signal.aborted
          ? `token endpoint did not answer within ${options.timeoutMs} ms`
          : 'token endpoint unreachable',
        { cause },
      );
    }
    const body = exchangeAnswer(res.status, text);
    const expiresIn = typeof body['expires_in'] === 'number' ? body['expires_in'] : undefined;
    return { accessToken: body['access_token'] as string, expiresIn };
  };
}
