/**
 * Every failure of this package is a CaBrokerError with a stable code. Callers (and tests) branch on
 * `code`, never on the message. Messages are safe to show to a client: they never carry a token, a
 * key or the hostile value that was refused; the operator's detail travels in `cause`.
 */
export const CA_BROKER_ERROR_CODES = Object.freeze([
  // Keys and certificates (the codec, src/certificate/)
  'ERR_CA_MALFORMED_KEY',
  'ERR_CA_UNSUPPORTED_KEY',
  'ERR_CA_CERTIFICATE_NOT_KEY',
  'ERR_CA_WEAK_KEY',
  'ERR_CA_MALFORMED_CERTIFICATE',
  'ERR_CA_CERTIFICATE_SIGNATURE',
  'ERR_CA_CERTIFICATE_UNTRUSTED',
  'ERR_CA_CERTIFICATE_EXPIRED',
  'ERR_CA_CERTIFICATE_NOT_YET_VALID',
  'ERR_CA_CERTIFICATE_TYPE',
  'ERR_CA_CERTIFICATE_PRINCIPAL',
  // Requests
  'ERR_CA_BAD_REQUEST',
  'ERR_CA_NOT_FOUND',
  // Tokens (RFC 6750 `invalid_token`: 401)
  'ERR_CA_TOKEN_MISSING',
  'ERR_CA_TOKEN_MALFORMED',
  'ERR_CA_TOKEN_TYPE',
  'ERR_CA_TOKEN_ALGORITHM',
  'ERR_CA_TOKEN_SIGNATURE',
  'ERR_CA_TOKEN_UNKNOWN_KEY',
  'ERR_CA_TOKEN_EXPIRED',
  'ERR_CA_TOKEN_NOT_YET_VALID',
  'ERR_CA_TOKEN_ISSUER',
  'ERR_CA_TOKEN_AUDIENCE',
  'ERR_CA_TOKEN_CLAIMS',
  'ERR_CA_TOKEN_REPLAYED',
  // Authorisation (403)
  'ERR_CA_ROLE_NOT_PERMITTED',
  'ERR_CA_ROLE_MISMATCH',
  'ERR_CA_ACTOR_NOT_ALLOWED',
  'ERR_CA_ACTOR_REQUIRED',
  'ERR_CA_OPERATOR_UNAUTHORIZED',
  // Capacity and dependencies
  'ERR_CA_RATE_LIMITED',
  'ERR_CA_JWKS_UNAVAILABLE',
  'ERR_CA_BACKEND_UNAVAILABLE',
  'ERR_CA_REPLAY_CACHE_UNAVAILABLE',
  'ERR_CA_NOT_READY',
  'ERR_CA_INTERNAL',
  // Startup
  'ERR_CA_CONFIG',
  'ERR_CA_KEY_PERMISSIONS',
  'ERR_CA_KEY_FILE',
  // The broker client (used by the MCP server)
  'ERR_BROKER_UNAVAILABLE',
  'ERR_BROKER_TIMEOUT',
  'ERR_BROKER_REFUSED',
  'ERR_BROKER_BAD_RESPONSE',
] as const);

export type CaBrokerErrorCode = (typeof CA_BROKER_ERROR_CODES)[number];

export class CaBrokerError extends Error {
  override readonly name: string = 'CaBrokerError';
  readonly code: CaBrokerErrorCode;

  constructor(code: CaBrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export type BrokerClientErrorCode = Extract<CaBrokerErrorCode, `ERR_BROKER_${string}`>;

/** What `createBrokerClient().sign()` throws. `status` and `brokerCode` are set for ERR_BROKER_REFUSED. */
export class BrokerClientError extends CaBrokerError {
  override readonly name = 'BrokerClientError';
  declare readonly code: BrokerClientErrorCode;
  /** HTTP status of a refusal. */
  readonly status: number | undefined;
  /** The broker's own error code from the refusal body (`ERR_CA_...`), when it sent one. */
  readonly brokerCode: string | undefined;

  constructor(
    code: BrokerClientErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number; brokerCode?: string },
  ) {
    super(code, message, options);
    this.status = options?.status;
    this.brokerCode = options?.brokerCode;
  }
}
