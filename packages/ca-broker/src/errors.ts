/**
 * Every failure of this package is a CaBrokerError with a stable code. Callers (and tests) branch on
 * `code`, never on the message. Messages are safe to show to a client: they never carry a token, a
 * key or the hostile value that was refused; the operator's detail travels in `cause`.
 *
 * `status` is what the service answers with: RFC 6750 section 3.1 makes a bad token 401
 * (`invalid_token`) and missing rights 403. Codes without a status are never answered over HTTP
 * (startup, the client); a code reaching the error handler without one is answered as ERR_CA_INTERNAL.
 */
import { defineCatalogue, NetwardError } from '@netward/errors';
import { SshCertificateError, type SshCertificateErrorCode } from '@netward/ssh-certificate';

export const CA_BROKER_ERRORS = defineCatalogue({
  // Requests
  ERR_CA_BAD_REQUEST: { message: 'malformed request', status: 400 },
  // The key to certify: the codec's refusals (@netward/ssh-certificate), answered under these codes.
  ERR_CA_MALFORMED_KEY: { message: 'not an OpenSSH key line', status: 400 },
  ERR_CA_UNSUPPORTED_KEY: { message: 'only ssh-ed25519 keys are accepted', status: 400 },
  ERR_CA_CERTIFICATE_NOT_KEY: {
    message: 'a certificate was given where a public key is expected',
    status: 400,
  },
  ERR_CA_WEAK_KEY: { message: 'weak key refused', status: 400 },
  ERR_CA_NOT_FOUND: { message: 'not found', status: 404 },
  // Tokens (RFC 6750 `invalid_token`: 401)
  ERR_CA_TOKEN_MISSING: { message: 'bearer token required', status: 401 },
  ERR_CA_TOKEN_MALFORMED: { message: 'token malformed', status: 401 },
  ERR_CA_TOKEN_TYPE: { message: 'token is not a JWT access token (typ at+jwt)', status: 401 },
  ERR_CA_TOKEN_ALGORITHM: { message: 'token algorithm not accepted', status: 401 },
  ERR_CA_TOKEN_SIGNATURE: { message: 'token signature invalid', status: 401 },
  ERR_CA_TOKEN_UNKNOWN_KEY: { message: 'token signed by an unknown key', status: 401 },
  ERR_CA_TOKEN_EXPIRED: { message: 'token expired', status: 401 },
  ERR_CA_TOKEN_NOT_YET_VALID: { message: 'token not yet valid', status: 401 },
  ERR_CA_TOKEN_ISSUER: { message: 'token issuer not accepted', status: 401 },
  ERR_CA_TOKEN_AUDIENCE: { message: 'token not issued for this broker', status: 401 },
  ERR_CA_TOKEN_CLAIMS: { message: 'token lacks a required claim', status: 401 },
  ERR_CA_TOKEN_REPLAYED: { message: 'token already used for a certificate', status: 401 },
  ERR_CA_OPERATOR_UNAUTHORIZED: { message: 'operator token required', status: 401 },
  // Authorisation (403)
  ERR_CA_ROLE_NOT_PERMITTED: { message: 'role not permitted', status: 403 },
  ERR_CA_ROLE_MISMATCH: { message: 'requested role differs from the token role', status: 403 },
  ERR_CA_ACTOR_NOT_ALLOWED: { message: 'acting party not allowed', status: 403 },
  ERR_CA_ACTOR_REQUIRED: { message: 'token must name an allowed acting party', status: 403 },
  // Capacity and dependencies
  ERR_CA_RATE_LIMITED: { message: 'too many certificate requests', status: 429 },
  ERR_CA_INTERNAL: { message: 'internal error', status: 500 },
  ERR_CA_JWKS_UNAVAILABLE: { message: 'identity provider keys unavailable', status: 503 },
  ERR_CA_BACKEND_UNAVAILABLE: { message: 'signing backend unavailable', status: 503 },
  ERR_CA_REPLAY_CACHE_UNAVAILABLE: { message: 'replay cache unavailable', status: 503 },
  ERR_CA_NOT_READY: { message: 'not ready', status: 503 },
  // Startup and the CLI
  ERR_CA_CONFIG: { message: 'invalid configuration' },
  ERR_CA_KEY_PERMISSIONS: { message: 'a secret file is readable by group or others' },
  ERR_CA_KEY_FILE: { message: 'CA key missing or unusable' },
  // The broker client (used by the MCP server)
  ERR_BROKER_UNAVAILABLE: { message: 'CA broker unreachable' },
  ERR_BROKER_TIMEOUT: { message: 'CA broker did not answer in time' },
  ERR_BROKER_REFUSED: { message: 'CA broker refused' },
  ERR_BROKER_BAD_RESPONSE: { message: 'CA broker answer is not a certificate for the key sent' },
});

export type CaBrokerErrorCode = keyof typeof CA_BROKER_ERRORS;

export class CaBrokerError extends NetwardError<CaBrokerErrorCode> {
  static override readonly catalogue = CA_BROKER_ERRORS;
  override readonly name: string = 'CaBrokerError';
}

/** The codec's refusals of a key a caller sent, and what the broker answers them with. */
const CODEC_CODES: Partial<Record<SshCertificateErrorCode, CaBrokerErrorCode>> = {
  ERR_SSH_MALFORMED_KEY: 'ERR_CA_MALFORMED_KEY',
  ERR_SSH_UNSUPPORTED_KEY: 'ERR_CA_UNSUPPORTED_KEY',
  ERR_SSH_CERTIFICATE_NOT_KEY: 'ERR_CA_CERTIFICATE_NOT_KEY',
  ERR_SSH_WEAK_KEY: 'ERR_CA_WEAK_KEY',
};

/**
 * Any failure as a CaBrokerError: the codec's key refusals keep their message under the broker's code,
 * anything else unexpected is internal (its detail only in `cause`, for the audit line).
 */
export function asBrokerError(err: unknown): CaBrokerError {
  if (err instanceof CaBrokerError) return err;
  const code = err instanceof SshCertificateError ? CODEC_CODES[err.code] : undefined;
  if (code !== undefined) return new CaBrokerError(code, (err as Error).message, { cause: err });
  return new CaBrokerError('ERR_CA_INTERNAL', 'internal error', { cause: err });
}

export type BrokerClientErrorCode = Extract<CaBrokerErrorCode, `ERR_BROKER_${string}`>;

/** What `createBrokerClient().sign()` throws. `status` and `brokerCode` are the broker's, for ERR_BROKER_REFUSED. */
export class BrokerClientError extends CaBrokerError {
  override readonly name = 'BrokerClientError';
  declare readonly code: BrokerClientErrorCode;
  /** The broker's own error code from the refusal body (`ERR_CA_...`), when it sent one. */
  readonly brokerCode: string | undefined;
  readonly #status: number | undefined;

  constructor(
    code: BrokerClientErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number; brokerCode?: string },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.#status = options?.status;
    this.brokerCode = options?.brokerCode;
  }

  /** The HTTP status of a refusal; for the other codes, the catalogue's (none: 500). */
  override get status(): number {
    return this.#status ?? super.status;
  }
}
