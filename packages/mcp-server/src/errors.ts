/**
 * Every failure of the MCP server is an McpServerError with a stable code from MCP_SERVER_ERRORS. Two
 * audiences read it: the agent gets `code` and the catalogue's short message (in the HTTP answer or the
 * tool result; never a cause, a token, a host key or a stack); the operator's audit line gets the code,
 * the raised message and the cause.
 *
 * `status` is given for the codes the HTTP layer answers with (RFC 6750 section 3.1 challenges, 503
 * when the issuer's keys are out of reach, 401 when the login has ended); the tool-call codes travel
 * inside a JSON-RPC result instead, and `stage` names the step of the tool pipeline that raises them.
 */
import { defineCatalogue, type ErrorOptions, NetwardError } from '@netward/errors';

export const MCP_SERVER_ERRORS = defineCatalogue({
  ERR_MCP_CONFIG: { message: 'server configuration error', exit: 2 },
  // The caller's access token
  ERR_MCP_TOKEN_MISSING: { message: 'authorization required', status: 401 },
  ERR_MCP_AUTH_REQUEST: { message: 'malformed Authorization: one Bearer token expected', status: 400 },
  ERR_MCP_TOKEN_INVALID: { message: 'access token rejected', status: 401 },
  ERR_MCP_INSUFFICIENT_SCOPE: {
    message: 'the access token lacks the scope this tool needs',
    status: 403,
    stage: 'authorize',
  },
  ERR_MCP_AUTH_UNAVAILABLE: { message: 'token keys unavailable, try again later', status: 503 },
  // Tool arguments and inventory
  ERR_MCP_INVALID_ARGUMENT: { message: 'invalid tool argument', stage: 'command' },
  ERR_MCP_UNKNOWN_DEVICE: { message: 'no such device in the inventory', stage: 'device' },
  ERR_MCP_UNKNOWN_TOOL: { message: 'no such tool', stage: 'authorize' },
  // Token exchange at the IdP (RFC 8693)
  ERR_MCP_EXCHANGE_REFUSED: {
    message: 'the identity provider refused to delegate this call',
    stage: 'exchange',
  },
  ERR_MCP_LOGIN_ENDED: {
    message: 'the login session has ended: log in again',
    status: 401,
    stage: 'exchange',
  },
  ERR_MCP_EXCHANGE_UNAVAILABLE: { message: 'the identity provider could not be reached', stage: 'exchange' },
  // Certificate from the CA broker
  ERR_MCP_BROKER_UNAVAILABLE: {
    message: 'the certificate broker could not be reached',
    stage: 'certificate',
  },
  ERR_MCP_BROKER_TIMEOUT: { message: 'the certificate broker did not answer in time', stage: 'certificate' },
  ERR_MCP_BROKER_REFUSED: {
    message: 'the certificate broker refused to issue a certificate',
    stage: 'certificate',
  },
  ERR_MCP_BROKER_BAD_RESPONSE: {
    message: 'the certificate broker sent an unusable answer',
    stage: 'certificate',
  },
  // SSH to the device
  ERR_MCP_HOST_KEY: {
    message: 'the device could not prove its identity (host key not trusted)',
    stage: 'ssh',
  },
  ERR_MCP_SSH_AUTH: { message: 'the device refused the certificate', stage: 'ssh' },
  ERR_MCP_SSH_CONNECT: { message: 'the device could not be reached', stage: 'ssh' },
  ERR_MCP_SSH_EXEC: { message: 'the device did not run the command', stage: 'ssh' },
  ERR_MCP_OUTCOME_UNKNOWN: {
    message: 'the connection closed while the command ran: it may have run',
    stage: 'ssh',
  },
  ERR_MCP_TIMEOUT: { message: 'the device did not answer in time', stage: 'ssh' },
  ERR_MCP_CERT_EXPIRED: { message: 'the device certificate expired', stage: 'ssh' },
  // The device ran the validator and refused, or the command failed there
  ERR_MCP_DEVICE_DENIED: { message: 'the device refused or failed the command', stage: 'outcome' },
  ERR_MCP_INTERNAL: { message: 'internal error', status: 500 },
});
export type McpServerErrorCode = keyof typeof MCP_SERVER_ERRORS;

export class McpServerError extends NetwardError<McpServerErrorCode> {
  static override readonly catalogue = MCP_SERVER_ERRORS;
  override readonly name = 'McpServerError';

  /**
   * A fixed text the agent may see after the public message (never built from what the agent sent):
   * which argument was refused and what it must be.
   */
  readonly publicDetail: string | undefined;

  constructor(
    code: McpServerErrorCode,
    message?: string,
    options?: ErrorOptions & { readonly publicDetail?: string },
  ) {
    super(code, message, options);
    this.publicDetail = options?.publicDetail;
  }

  override get publicMessage(): string {
    const base = super.publicMessage;
    return this.publicDetail === undefined ? base : `${base}: ${this.publicDetail}`;
  }
}
