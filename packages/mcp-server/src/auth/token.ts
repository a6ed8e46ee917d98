/**
 * Access token verification: this server is an OAuth 2.1 resource server (MCP authorization spec,
 * revision 2025-11-25, "Token Handling"). @netward/bearer does the verification (signature with an
 * allowed asymmetric algorithm, `typ` at+jwt so a token minted for the CA broker or anyone else is
 * refused (RFC 8707, RFC 9068 section 4), exact issuer, this server's canonical URL in `aud`, exp/nbf,
 * user and session); this module adds what only this server knows: the role, from the policy, and the
 * scopes the role allows.
 */
import { type BearerIdentity, createBearerVerifier, type KeySource } from '@netward/bearer';
import type { Policy, Role } from '@netward/policy';
import { roleByIdpRole } from '@netward/policy';
import type { JWTVerifyGetKey } from 'jose';
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
  readonly jwks: JWTVerifyGetKey | KeySource;
  /** Verified tokens kept until they expire (config verifiedTokenCacheEntries). Default 0: none. */
  readonly cacheEntries?: number;
}

export type TokenVerifier = (token: string) => Promise<Identity>;

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const bearer = createBearerVerifier({
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms,
    clockToleranceSeconds: options.clockToleranceSeconds,
    keys: options.jwks,
    requiredClaims: ['sub'],
    roleClaim: options.roleClaim,
    cacheEntries: options.cacheEntries ?? 0,
  });
  return async (token) => {
    let id: BearerIdentity;
    try {
      id = await bearer.verify(token);
    } catch (cause) {
      // The keys could not be fetched: the token may be fine, so this is not the caller's fault (503),
      // but it is still a refusal. Everything else about the token is invalid_token (401).
      const unavailable = (cause as { code?: unknown }).code === 'ERR_BEARER_KEYS_UNAVAILABLE';
      throw unavailable
        ? new McpServerError('ERR_MCP_AUTH_UNAVAILABLE', 'issuer keys could not be fetched', { cause })
        : new McpServerError('ERR_MCP_TOKEN_INVALID', 'access token failed verification', { cause });
    }
    const role = roleByIdpRole(options.policy, id.role as string);
    if (role === undefined)
      throw new McpServerError('ERR_MCP_TOKEN_INVALID', 'token role is not in the policy');
    const roleScopes = new Set(role.scopes);
    return Object.freeze({
      user: id.user,
      sub: id.subject as string,
      sid: id.sid,
      role,
      scopes: Object.freeze(id.scopes.filter((s) => roleScopes.has(s))),
      clientId: id.clientId,
      expiresAt: id.expiresAt,
      token,
    });
  };
}
