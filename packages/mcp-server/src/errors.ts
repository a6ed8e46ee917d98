/**
 * Every failure of the MCP server is an McpServerError with a stable code. Two audiences read it:
 * the agent gets `code` and a short `publicMessage` in the tool result (never a cause, a token, a host
 * key or a stack); the operator's audit line gets the code, the message and the cause.
 */
export type McpServerErrorCode =
  // Configuration (boot time)
  | 'ERR_MCP_CONFIG'
  // The caller's access token (401/403 challenges)
  | 'ERR_MCP_TOKEN_MISSING'
  | 'ERR_MCP_AUTH_REQUEST'
  | 'ERR_MCP_TOKEN_INVALID'
  | 'ERR_MCP_INSUFFICIENT_SCOPE'
  | 'ERR_MCP_AUTH_UNAVAILABLE'
  // Tool arguments and inventory
  | 'ERR_MCP_INVALID_ARGUMENT'
  | 'ERR_MCP_UNKNOWN_DEVICE'
  | 'ERR_MCP_UNKNOWN_TOOL'
  // Token exchange at the IdP (RFC 8693)
  | 'ERR_MCP_EXCHANGE_REFUSED'
  | 'ERR_MCP_LOGIN_ENDED'
  | 'ERR_MCP_EXCHANGE_UNAVAILABLE'
  // Certificate from the CA broker
  | 'ERR_MCP_BROKER_UNAVAILABLE'
  | 'ERR_MCP_BROKER_TIMEOUT'
  | 'ERR_MCP_BROKER_REFUSED'
  | 'ERR_MCP_BROKER_BAD_RESPONSE'
  // SSH to the device
  | 'ERR_MCP_HOST_KEY'
  | 'ERR_MCP_SSH_AUTH'
  | 'ERR_MCP_SSH_CONNECT'
  | 'ERR_MCP_SSH_EXEC'
  | 'ERR_MCP_OUTCOME_UNKNOWN'
  | 'ERR_MCP_TIMEOUT'
  | 'ERR_MCP_CERT_EXPIRED'
  // The device ran the validator and refused, or the command failed there
  | 'ERR_MCP_DEVICE_DENIED'
  | 'ERR_MCP_INTERNAL';

/** The short text an agent sees for each code: fixed strings, so nothing internal can leak through. */
export const PUBLIC_MESSAGES: Readonly<Record<McpServerErrorCode, string>> = Object.freeze({
  ERR_MCP_CONFIG: 'server configuration error',
  ERR_MCP_TOKEN_MISSING: 'authorization required',
  ERR_MCP_AUTH_REQUEST: 'malformed Authorization: one Bearer token expected',
  ERR_MCP_TOKEN_INVALID: 'access token rejected',
  ERR_MCP_INSUFFICIENT_SCOPE: 'the access token lacks the scope this tool needs',
  ERR_MCP_AUTH_UNAVAILABLE: 'token keys unavailable, try again later',
  ERR_MCP_INVALID_ARGUMENT: 'invalid tool argument',
  ERR_MCP_UNKNOWN_DEVICE: 'no such device in the inventory',
  ERR_MCP_UNKNOWN_TOOL: 'no such tool',
  ERR_MCP_EXCHANGE_REFUSED: 'the identity provider refused to delegate this call',
  ERR_MCP_LOGIN_ENDED: 'the login session has ended: log in again',
  ERR_MCP_EXCHANGE_UNAVAILABLE: 'the identity provider could not be reached',
  ERR_MCP_BROKER_UNAVAILABLE: 'the certificate broker could not be reached',
  ERR_MCP_BROKER_TIMEOUT: 'the certificate broker did not answer in time',
  ERR_MCP_BROKER_REFUSED: 'the certificate broker refused to issue a certificate',
  ERR_MCP_BROKER_BAD_RESPONSE: 'the certificate broker sent an unusable answer',
  ERR_MCP_HOST_KEY: 'the device could not prove its identity (host key not trusted)',
  ERR_MCP_SSH_AUTH: 'the device refused the certificate',
  ERR_MCP_SSH_CONNECT: 'the device could not be reached',
  ERR_MCP_SSH_EXEC: 'the device did not run the command',
  ERR_MCP_OUTCOME_UNKNOWN: 'the connection closed while the command ran: it may have run',
  ERR_MCP_TIMEOUT: 'the device did not answer in time',
  ERR_MCP_CERT_EXPIRED: 'the device certificate expired',
  ERR_MCP_DEVICE_DENIED: 'the device refused or failed the command',
  ERR_MCP_INTERNAL: 'internal error',
});

export class McpServerError extends Error {
  override readonly name = 'McpServerError';
  readonly code: McpServerErrorCode;

  /**
   * A fixed text the agent may see after the public message (never built from what the agent sent):
   * which argument was refused and what it must be.
   */
  readonly publicDetail: string | undefined;

  constructor(
    code: McpServerErrorCode,
    message: string,
    options?: { cause?: unknown; publicDetail?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.publicDetail = options?.publicDetail;
  }

  get publicMessage(): string {
    return this.publicDetail === undefined
      ? PUBLIC_MESSAGES[this.code]
      : `${PUBLIC_MESSAGES[this.code]}: ${this.publicDetail}`;
  }
}

export function isMcpServerError(e: unknown): e is McpServerError {
  return e instanceof McpServerError;
}
