/**
 * Access token verification: this server is an OAuth 2.1 resource server (MCP authorization spec,
 * revision 2025-11-25, "Token Handling"). A token is accepted only when it is a JWS signed by a key of
 * the issuer's JWKS with an allowed asymmetric algorithm, names the issuer exactly, carries this
 * server's canonical URL in `aud`, is typed `at+jwt` (so a token minted for the CA broker, or for anyone else, is
 * refused: RFC 8707, RFC 9068 section 4), is within exp/nbf, and carries the identity the audit trail
 * needs (user, session, role).
 */
import { isValidField } from '@netward/audit-context';
import type { Policy, Role } from '@netward/policy';
import { roleByIdpRole } from '@netward/policy';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { McpServerError } from '../errors.ts';

export interface Identity {
  /** IdP username (`preferred_username`, else `sub`). */
  readonly user: string;
  readonly sub: string;
  readonly sid: string;
  readonly role: Role;
  /** Token scopes, capped by the role's scopes. */
  readonly scopes: readonly string[];
  readonly clientId: string | undefined;
  readonly expiresAt: number;
  /** The caller's access token: used only as the RFC 8693 subject token, never forwarded. */
  readonly token: string;
}

export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly roleClaim: string;
  readonly clockToleranceSeconds: number;
  readonly policy: Policy;
  readonly jwks: JWTVerifyGetKey;
  readonly now?: () => Date;
}

export type TokenVerifier = (token: string) => Promise<Identity>;

function invalid(message: string, cause?: unknown): McpServerError {
  return new McpServerError('ERR_MCP_TOKEN_INVALID', message, cause === undefined ? undefined : { cause });
}

function scopesOf(payload: JWTPayload): string[] {
  const scope = payload['scope'];
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  // Some IdPs use `scp` as an array (RFC 9068 allows `scope` only; accept both, never mix).
  const scp = payload['scp'];
  if (Array.isArray(scp) && scp.every((s) => typeof s === 'string')) return scp as string[];
  return [];
}

const KEY_FETCH_CODES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/** jose raises typed errors for every token fault; a key fetch failure is a timeout, a bad JWKS answer
 *  (non-200 is ERR_JOSE_GENERIC) or a plain network/discovery error without a jose code. */
function keysUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_J')) return KEY_FETCH_CODES.has(code);
  return true;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const algorithms = [...options.algorithms];
  if (algorithms.some((a) => a === 'none' || a.startsWith('HS'))) {
    throw new TypeError('only asymmetric JWS algorithms may be allowed');
  }
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, options.jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: options.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
        // RFC 9068 section 4: the resource server MUST check `typ` is at+jwt (jose also accepts
        // application/at+jwt, case-insensitively, as section 2.1 allows). An ID token or any other JWT
        // signed by the same IdP key is refused even with the right audience (RFC 8725 section 3.11).
        typ: 'at+jwt',
        ...(options.now ? { currentDate: options.now() } : {}),
      }));
    } catch (cause) {
      // The keys could not be fetched: the token may be fine, so this is not the caller's fault (503),
      // but it is still a refusal. Everything else about the token is invalid_token (401).
      if (keysUnavailable(cause)) {
        throw new McpServerError('ERR_MCP_AUTH_UNAVAILABLE', 'issuer keys could not be fetched', { cause });
      }
      throw invalid('access token failed verification', cause);
    }
    const sub = payload.sub as string;
    const preferred = payload['preferred_username'];
    const user = typeof preferred === 'string' ? preferred : sub;
    const sid = payload['sid'];
    const idpRole = payload[options.roleClaim];
    if (!isValidField('user', user)) throw invalid('token user is missing or malformed');
    if (!isValidField('sid', sid)) throw invalid('token has no usable sid');
    if (typeof idpRole !== 'string') throw invalid(`token has no ${options.roleClaim} claim`);
    const role = roleByIdpRole(options.policy, idpRole);
    if (role === undefined) throw invalid('token role is not in the policy');
    const roleScopes = new Set(role.scopes);
    const clientId = payload['client_id'];
    return Object.freeze({
      user,
      sub,
      sid,
      role,
      scopes: Object.freeze(scopesOf(payload).filter((s) => roleScopes.has(s))),
      clientId: typeof clientId === 'string' ? clientId : undefined,
      expiresAt: payload.exp as number,
      token,
    });
  };
}

/**
 * The issuer's JWKS: `jwksUri` when configured, else `jwks_uri` from its metadata (OpenID Connect
 * Discovery, then RFC 8414), fetched on first use.
 */
export function remoteJwks(issuer: string, jwksUri: string | undefined, timeoutMs = 5000): JWTVerifyGetKey {
  if (jwksUri !== undefined) return createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: timeoutMs });
  let resolved: Promise<JWTVerifyGetKey> | undefined;
  const discover = async (): Promise<JWTVerifyGetKey> => {
    const base = issuer.endsWith('/') ? issuer : `${issuer}/`;
    const iss = new URL(issuer);
    const candidates = [
      new URL('.well-known/openid-configuration', base),
      new URL(`/.well-known/oauth-authorization-server${iss.pathname === '/' ? '' : iss.pathname}`, iss),
    ];
    for (const u of candidates) {
      try {
        const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
        if (!res.ok) continue;
        const meta = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
        if (meta.issuer !== issuer || typeof meta.jwks_uri !== 'string') continue;
        return createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: timeoutMs });
      } catch {
        // try the next location
      }
    }
    throw new Error('no authorization server metadata with a jwks_uri for the issuer');
  };
  return async (header, input) => {
    resolved ??= discover().catch((e: unknown) => {
      resolved = undefined;
      throw e;
    });
    return (await resolved)(header, input);
  };
}
