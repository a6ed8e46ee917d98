/**
 * Every refusal of a bearer token is a BearerError with one of these codes. The messages are the fixed
 * texts a client may see; the jose error (and a claim's name, in `detail.claim`) travels in `cause` and
 * `detail` for the operator. A service maps these codes to its own public codes where its API promises
 * them (the CA broker's ERR_CA_TOKEN_*, the MCP server's ERR_MCP_TOKEN_INVALID).
 *
 * Status: 401 for a token the caller must replace (RFC 6750 section 3.1 `invalid_token`), 403 for a
 * valid token that does not allow the request (`insufficient_scope`, a refused acting party), 503 when
 * the issuer's keys could not be fetched (the token may be fine; the caller may retry).
 */
import { defineCatalogue, NetwardError } from '@netward/errors';
import { errors as joseErrors } from 'jose';

export const BEARER_ERRORS = defineCatalogue({
  ERR_BEARER_MALFORMED: { message: 'token malformed', status: 401 },
  ERR_BEARER_TYPE: { message: 'token is not a JWT access token (typ at+jwt)', status: 401 },
  ERR_BEARER_ALGORITHM: { message: 'token algorithm not accepted', status: 401 },
  ERR_BEARER_SIGNATURE: { message: 'token signature invalid', status: 401 },
  ERR_BEARER_UNKNOWN_KEY: { message: 'token signed by an unknown key', status: 401 },
  ERR_BEARER_EXPIRED: { message: 'token expired', status: 401 },
  ERR_BEARER_NOT_YET_VALID: { message: 'token not yet valid', status: 401 },
  ERR_BEARER_ISSUER: { message: 'token issuer not accepted', status: 401 },
  ERR_BEARER_AUDIENCE: { message: 'token not issued for this audience', status: 401 },
  ERR_BEARER_CLAIMS: { message: 'token lacks a required claim', status: 401 },
  ERR_BEARER_SCOPE: { message: 'token lacks a required scope', status: 403 },
  ERR_BEARER_ACTOR_NOT_ALLOWED: { message: 'acting party not allowed', status: 403 },
  ERR_BEARER_ACTOR_REQUIRED: { message: 'token must name an allowed acting party', status: 403 },
  ERR_BEARER_KEYS_UNAVAILABLE: { message: 'identity provider keys unavailable', status: 503 },
});
export type BearerErrorCode = keyof typeof BEARER_ERRORS;

export class BearerError extends NetwardError<BearerErrorCode> {
  static override readonly catalogue = BEARER_ERRORS;
  override readonly name = 'BearerError';
}

/** jose's error codes → ours: the one table. A jose code not listed is a malformed token. */
const JOSE_CODES: Readonly<Record<string, BearerErrorCode>> = Object.freeze({
  ERR_JOSE_ALG_NOT_ALLOWED: 'ERR_BEARER_ALGORITHM',
  ERR_JOSE_NOT_SUPPORTED: 'ERR_BEARER_ALGORITHM',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'ERR_BEARER_SIGNATURE',
  ERR_JWKS_NO_MATCHING_KEY: 'ERR_BEARER_UNKNOWN_KEY',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'ERR_BEARER_UNKNOWN_KEY',
  ERR_JWT_EXPIRED: 'ERR_BEARER_EXPIRED',
  ERR_JWS_INVALID: 'ERR_BEARER_MALFORMED',
  ERR_JWT_INVALID: 'ERR_BEARER_MALFORMED',
  ERR_JWK_INVALID: 'ERR_BEARER_MALFORMED',
  // The issuer's key endpoint failed (a timeout, a bad JWKS document, a non-200 answer, which jose
  // reports as ERR_JOSE_GENERIC): not the caller's fault.
  ERR_JWKS_TIMEOUT: 'ERR_BEARER_KEYS_UNAVAILABLE',
  ERR_JWKS_INVALID: 'ERR_BEARER_KEYS_UNAVAILABLE',
  ERR_JOSE_GENERIC: 'ERR_BEARER_KEYS_UNAVAILABLE',
});

/** A claim check that failed (jose's JWTClaimValidationFailed `claim`) → ours; others are ERR_BEARER_CLAIMS. */
const CLAIM_CODES: Readonly<Record<string, BearerErrorCode>> = Object.freeze({
  typ: 'ERR_BEARER_TYPE',
  iss: 'ERR_BEARER_ISSUER',
  aud: 'ERR_BEARER_AUDIENCE',
  nbf: 'ERR_BEARER_NOT_YET_VALID',
  exp: 'ERR_BEARER_EXPIRED',
});

/** A missing or unusable claim, named for the operator (never its value). */
export function claimError(claim: string, cause?: unknown): BearerError {
  return new BearerError('ERR_BEARER_CLAIMS', undefined, {
    detail: { claim },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Whatever verifying a token threw → a BearerError. */
export function mapJoseError(err: unknown): BearerError {
  if (err instanceof BearerError) return err;
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const code = err.reason === 'missing' ? undefined : CLAIM_CODES[err.claim];
    return code === undefined ? claimError(err.claim, err) : new BearerError(code, undefined, { cause: err });
  }
  if (err instanceof joseErrors.JOSEError) {
    return new BearerError(JOSE_CODES[err.code] ?? 'ERR_BEARER_MALFORMED', undefined, { cause: err });
  }
  // fetch() of the JWKS failed (connection refused, DNS, TLS, abort): jose passes those through; jose
  // and src/jwt.ts also raise TypeError for a published key unusable with the token's algorithm.
  if (err instanceof TypeError || (err instanceof Error && err.name === 'AbortError')) {
    return new BearerError('ERR_BEARER_KEYS_UNAVAILABLE', undefined, { cause: err });
  }
  return new BearerError('ERR_BEARER_MALFORMED', undefined, { cause: err });
}
