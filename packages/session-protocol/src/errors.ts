/**
 * Every refusal of the framing is a SessionProtocolError with a stable code. The receiver closes the
 * channel on either: a length-prefixed stream cannot be resynchronised after a bad frame, and a bad body
 * says the peer does not speak this protocol. The codec answers no HTTP and ends no program: the validator
 * records the refusal under its own code and the MCP server maps it to its own, so no `status` or `exit`.
 */
import { defineCatalogue, NetwardError } from '@netward/errors';

export const SESSION_PROTOCOL_ERRORS = defineCatalogue({
  ERR_SESSION_FRAME: { message: 'malformed session frame' },
  ERR_SESSION_MESSAGE: { message: 'malformed session message' },
});

export type SessionProtocolErrorCode = keyof typeof SESSION_PROTOCOL_ERRORS;

export class SessionProtocolError extends NetwardError<SessionProtocolErrorCode> {
  static override readonly catalogue = SESSION_PROTOCOL_ERRORS;
  override readonly name = 'SessionProtocolError';
}
