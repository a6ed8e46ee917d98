/**
 * Verification of the bearer token presented to POST /v1/ssh/sign: a JWT from the IdP, for this broker's
 * audience. Every request is verified in full (signature, alg, iss, aud, exp, nbf); only the IdP's keys
 * are cached, by jose's remote JWKS set, which refetches on an unknown `kid` (at most once per cooldown).
 */
import { isValidField } from '@netward/audit-context';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, errors as joseErrors } from 'jose';
import type { BrokerConfig } from './config.ts';
import { CaBrokerError, type CaBrokerErrorCode } from './errors.ts';
import { createJwtVerifier } from './jwt.ts';

export interface VerifiedIdentity {
  readonly user: string;
  readonly sid: string;
  /** The role claim's value, as the IdP names it (mapped to a policy role by `idpRole`). */
  readonly idpRole: string;
  /** `act.sub` (RFC 8693 section 4.1) when the token names an actor. */
  readonly actor: string | undefined;
  /** Token subject, for the audit line. */
  readonly subject: string | undefined;
  readonly expiresAt: number;
  /** The token's identifier (RFC 7519 section 4.1.7), the key of the replay cache. */
  readonly jti: string;
}

export interface TokenVerifier {
  verify(token: string): Promise<VerifiedIdentity>;
  /** Fetches the JWKS now (readiness). */
  reload(): Promise<void>;
}

type TokenConfig = BrokerConfig['token'];

/** jose's error codes → ours. Anything not listed is a malformed token. */
const JOSE_CODES: Record<string, CaBrokerErrorCode> = {
  ERR_JOSE_ALG_NOT_ALLOWED: 'ERR_CA_TOKEN_ALGORITHM',
  ERR_JOSE_NOT_SUPPORTED: 'ERR_CA_TOKEN_ALGORITHM',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'ERR_CA_TOKEN_SIGNATURE',
  ERR_JWKS_NO_MATCHING_KEY: 'ERR_CA_TOKEN_UNKNOWN_KEY',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'ERR_CA_TOKEN_UNKNOWN_KEY',
  ERR_JWT_EXPIRED: 'ERR_CA_TOKEN_EXPIRED',
  ERR_JWS_INVALID: 'ERR_CA_TOKEN_MALFORMED',
  ERR_JWT_INVALID: 'ERR_CA_TOKEN_MALFORMED',
  ERR_JWK_INVALID: 'ERR_CA_TOKEN_MALFORMED',
  // The IdP's key endpoint failed: not the caller's fault.
  ERR_JWKS_TIMEOUT: 'ERR_CA_JWKS_UNAVAILABLE',
  ERR_JWKS_INVALID: 'ERR_CA_JWKS_UNAVAILABLE',
  ERR_JOSE_GENERIC: 'ERR_CA_JWKS_UNAVAILABLE',
};

const CLAIM_CODES: Record<string, CaBrokerErrorCode> = {
  typ: 'ERR_CA_TOKEN_TYPE',
  iss: 'ERR_CA_TOKEN_ISSUER',
  aud: 'ERR_CA_TOKEN_AUDIENCE',
  nbf: 'ERR_CA_TOKEN_NOT_YET_VALID',
  exp: 'ERR_CA_TOKEN_EXPIRED',
};

const MESSAGES: Partial<Record<CaBrokerErrorCode, string>> = {
  ERR_CA_TOKEN_ALGORITHM: 'token algorithm not accepted',
  ERR_CA_TOKEN_SIGNATURE: 'token signature invalid',
  ERR_CA_TOKEN_UNKNOWN_KEY: 'token signed by an unknown key',
  ERR_CA_TOKEN_EXPIRED: 'token expired',
  ERR_CA_TOKEN_NOT_YET_VALID: 'token not yet valid',
  ERR_CA_TOKEN_ISSUER: 'token issuer not accepted',
  ERR_CA_TOKEN_AUDIENCE: 'token not issued for this broker',
  ERR_CA_TOKEN_MALFORMED: 'token malformed',
  ERR_CA_TOKEN_TYPE: 'token is not a JWT access token (typ at+jwt)',
  ERR_CA_TOKEN_CLAIMS: 'token lacks a required claim',
  ERR_CA_JWKS_UNAVAILABLE: 'identity provider keys unavailable',
};

function fail(code: CaBrokerErrorCode, cause?: unknown, detail?: string): CaBrokerError {
  const message = detail ? `${MESSAGES[code] ?? code}: ${detail}` : (MESSAGES[code] ?? code);
  return new CaBrokerError(code, message, cause === undefined ? undefined : { cause });
}

export function mapJoseError(err: unknown): CaBrokerError {
  if (err instanceof CaBrokerError) return err;
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return fail('ERR_CA_TOKEN_CLAIMS', err, err.claim);
    return fail(
      CLAIM_CODES[err.claim] ?? 'ERR_CA_TOKEN_CLAIMS',
      err,
      CLAIM_CODES[err.claim] ? undefined : err.claim,
    );
  }
  if (err instanceof joseErrors.JOSEError) return fail(JOSE_CODES[err.code] ?? 'ERR_CA_TOKEN_MALFORMED', err);
  // fetch() of the JWKS failed (connection refused, DNS, TLS): jose passes those through.
  if (err instanceof TypeError || (err instanceof Error && err.name === 'AbortError')) {
    return fail('ERR_CA_JWKS_UNAVAILABLE', err);
  }
  return fail('ERR_CA_TOKEN_MALFORMED', err);
}

export function createTokenVerifier(config: TokenConfig, keys?: JWTVerifyGetKey): TokenVerifier {
  const remote = keys
    ? undefined
    : createRemoteJWKSet(new URL(config.jwksUri), {
        cacheMaxAge: config.jwksCacheMaxAgeSeconds * 1000,
        cooldownDuration: config.jwksCooldownSeconds * 1000,
        timeoutDuration: config.jwksTimeoutMs,
      });
  const getKey: JWTVerifyGetKey = keys ?? remote!;
  // jose's jwtVerify semantics with node:crypto's synchronous verification (jwt.ts).
  const jwt = createJwtVerifier(
    {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      clockTolerance: config.clockToleranceSeconds,
      requiredClaims: ['exp'],
      // RFC 9068 section 4: only a JWT access token (typ at+jwt) is accepted; an ID token or any other
      // JWT the IdP signs with the same key is refused even with the broker's audience.
      typ: 'at+jwt',
    },
    getKey,
  );
  const allowedActors = new Set(config.actor.allowed);
  const { claims } = config;

  return {
    async reload() {
      // Readiness probes call this every few seconds: fetch only when the cached set has aged out.
      if (remote && !remote.fresh) await remote.reload();
    },
    async verify(token) {
      let payload: JWTPayload;
      try {
        payload = await jwt.verify(token);
      } catch (err) {
        throw mapJoseError(err);
      }
      let user: unknown;
      for (const name of claims.user) {
        user = payload[name];
        if (user !== undefined) break;
      }
      const sid = payload[claims.sid];
      const role = payload[claims.role];
      if (!isValidField('user', user)) throw fail('ERR_CA_TOKEN_CLAIMS', undefined, 'user');
      if (!isValidField('sid', sid)) throw fail('ERR_CA_TOKEN_CLAIMS', undefined, claims.sid);
      if (typeof role !== 'string' || role.length === 0 || role.length > 128) {
        throw fail('ERR_CA_TOKEN_CLAIMS', undefined, claims.role);
      }
      // Required: without it one token could not be told from another, and one exchange could yield
      // any number of certificates. oidc-provider and Keycloak put one in every access token.
      const jti = payload.jti;
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
        throw fail('ERR_CA_TOKEN_CLAIMS', undefined, 'jti');
      }
      // RFC 8693 section 4.1: `act` is a JSON object whose `sub` names the current actor; nested `act`
      // members are prior actors and carry no authority here.
      const act = config.actor.claim === 'azp' ? payload['azp'] : payload['act'];
      let actor: string | undefined;
      if (config.actor.claim === 'azp' && act !== undefined) {
        if (!isValidField('actor', act) || !allowedActors.has(act)) {
          throw new CaBrokerError('ERR_CA_ACTOR_NOT_ALLOWED', 'acting party not allowed');
        }
        actor = act;
      } else if (act !== undefined) {
        const sub =
          typeof act === 'object' && act !== null ? (act as Record<string, unknown>)['sub'] : undefined;
        if (!isValidField('actor', sub) || !allowedActors.has(sub)) {
          throw new CaBrokerError('ERR_CA_ACTOR_NOT_ALLOWED', 'acting party not allowed');
        }
        actor = sub;
      } else if (config.actor.require) {
        throw new CaBrokerError('ERR_CA_ACTOR_REQUIRED', 'token must name an allowed acting party');
      }
      return Object.freeze({
        user,
        sid,
        idpRole: role,
        actor,
        subject: typeof payload.sub === 'string' ? payload.sub : undefined,
        expiresAt: payload.exp!,
        jti,
      });
    },
  };
}
