/**
 * Verification of the bearer token presented to POST /v1/ssh/sign: a JWT access token from the IdP,
 * for this broker's audience, verified in full by @netward/bearer (signature, alg, typ at+jwt, iss, aud,
 * exp, nbf, the identity claims, the acting party) the first time it is presented; a token presented
 * again is answered from the verifier's cache of verified tokens until its `exp` (config
 * token.verifiedCacheEntries) and then refused by the replay cache. The IdP's keys are cached by
 * jose's remote JWKS set, which refetches on an unknown `kid` (at most once per cooldown). This module
 * maps the package's refusals to the broker's public codes and messages (README, "Errors").
 */
import {
  type BearerErrorCode,
  type BearerIdentity,
  createBearerVerifier,
  mapJoseError as mapBearerError,
  remoteKeys,
  type SignatureOn,
} from '@netward/bearer';
import type { JWTVerifyGetKey } from 'jose';
import type { BrokerConfig } from './config.ts';
import { CaBrokerError, type CaBrokerErrorCode } from './errors.ts';

export interface VerifiedIdentity {
  readonly user: string;
  readonly sid: string;
  /** The role claim's value, as the IdP names it (mapped to a policy role by `idpRole`). */
  readonly idpRole: string;
  /** `act.sub` (RFC 8693 section 4.1), or `azp`, when the token names an actor. */
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

/** The package's codes → the broker's (its API promises ERR_CA_TOKEN_* and these messages). */
const BEARER_CODES: Readonly<Record<BearerErrorCode, CaBrokerErrorCode>> = Object.freeze({
  ERR_BEARER_MALFORMED: 'ERR_CA_TOKEN_MALFORMED',
  ERR_BEARER_TYPE: 'ERR_CA_TOKEN_TYPE',
  ERR_BEARER_ALGORITHM: 'ERR_CA_TOKEN_ALGORITHM',
  ERR_BEARER_SIGNATURE: 'ERR_CA_TOKEN_SIGNATURE',
  ERR_BEARER_UNKNOWN_KEY: 'ERR_CA_TOKEN_UNKNOWN_KEY',
  ERR_BEARER_EXPIRED: 'ERR_CA_TOKEN_EXPIRED',
  ERR_BEARER_NOT_YET_VALID: 'ERR_CA_TOKEN_NOT_YET_VALID',
  ERR_BEARER_ISSUER: 'ERR_CA_TOKEN_ISSUER',
  ERR_BEARER_AUDIENCE: 'ERR_CA_TOKEN_AUDIENCE',
  ERR_BEARER_CLAIMS: 'ERR_CA_TOKEN_CLAIMS',
  // No scope is required of the broker's tokens; the role claim is what the certificate is built from.
  ERR_BEARER_SCOPE: 'ERR_CA_TOKEN_CLAIMS',
  ERR_BEARER_ACTOR_NOT_ALLOWED: 'ERR_CA_ACTOR_NOT_ALLOWED',
  ERR_BEARER_ACTOR_REQUIRED: 'ERR_CA_ACTOR_REQUIRED',
  ERR_BEARER_KEYS_UNAVAILABLE: 'ERR_CA_JWKS_UNAVAILABLE',
});

const MESSAGES: Partial<Record<CaBrokerErrorCode, string>> = {
  ERR_CA_TOKEN_AUDIENCE: 'token not issued for this broker',
};

/** Any verification failure → the broker's error, the claim's name appended where one is at fault. */
export function mapJoseError(err: unknown): CaBrokerError {
  if (err instanceof CaBrokerError) return err;
  const bearer = mapBearerError(err);
  const code = BEARER_CODES[bearer.code];
  const base = MESSAGES[code] ?? bearer.publicMessage;
  const claim = bearer.detail?.['claim'];
  const message = code === 'ERR_CA_TOKEN_CLAIMS' && typeof claim === 'string' ? `${base}: ${claim}` : base;
  return new CaBrokerError(code, message, { cause: bearer.cause ?? bearer });
}

export function createTokenVerifier(
  config: TokenConfig,
  keys?: JWTVerifyGetKey,
  signatureOn: SignatureOn = 'event-loop',
): TokenVerifier {
  const verifier = createBearerVerifier({
    issuer: config.issuer,
    audience: config.audience,
    algorithms: config.algorithms,
    clockToleranceSeconds: config.clockToleranceSeconds,
    keys:
      keys ??
      remoteKeys({
        issuer: config.issuer,
        jwksUri: config.jwksUri,
        cacheMaxAgeMs: config.jwksCacheMaxAgeSeconds * 1000,
        cooldownMs: config.jwksCooldownSeconds * 1000,
        timeoutMs: config.jwksTimeoutMs,
      }),
    // Required: without it one token could not be told from another, and one exchange could yield any
    // number of certificates. oidc-provider and Keycloak put one in every access token.
    requiredClaims: ['jti'],
    userClaims: config.claims.user,
    sidClaim: config.claims.sid,
    roleClaim: config.claims.role,
    actor: config.actor,
    // Every exchanged token is new, so this saves nothing on a certificate: it makes a token sent
    // again (a replay, a retry) cost a digest instead of an Ed25519 verification before the replay
    // cache refuses it.
    cacheEntries: config.verifiedCacheEntries,
    // On the event loop by default: a thread-pool job would save the loop the verification (~125 µs)
    // but cost a wake-up when it completes (~57 µs of CPU when the loop was idle) and wait behind other
    // pool jobs. Measured both ways (README: Thread-pool hand-offs): less CPU per certificate at 500/s,
    // but more of it on the event loop at 2,000/s.
    signatureOn,
  });
  return {
    reload: () => verifier.reload(),
    async verify(token) {
      let id: BearerIdentity;
      try {
        id = await verifier.verify(token);
      } catch (err) {
        throw mapJoseError(err);
      }
      return Object.freeze({
        user: id.user,
        sid: id.sid,
        idpRole: id.role as string,
        actor: id.actor,
        subject: id.subject,
        expiresAt: id.expiresAt,
        jti: id.jti as string,
      });
    },
  };
}
