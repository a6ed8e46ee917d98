/**
 * Every failure of this package is a TacacsError with a stable code from TACACS_ERRORS. Callers branch on
 * `code`, never on the message. Messages name what was wrong with the packet or the peer, never the
 * shared key, a password or the bytes that carried them. The `tacacs-plus` command ends with exit
 * status 2 for every one of them (no decision).
 */
import { defineCatalogue, NetwardError } from '@netward/errors';

export const TACACS_ERRORS = defineCatalogue({
  /** Fewer bytes than the header or a length field announced. */
  ERR_TACACS_TRUNCATED: { message: 'packet truncated', exit: 2 },
  /** Body fields that do not add up to the body length, unknown enumerations, trailing bytes. A reply
   *  de-obfuscated with the wrong key ends here: it is indistinguishable from garbage, by design. */
  ERR_TACACS_MALFORMED_PACKET: { message: 'malformed packet (or a wrong shared key)', exit: 2 },
  /** Major version other than 0xc, or a minor version other than 0 and 1 (RFC 8907 section 4.1). */
  ERR_TACACS_BAD_VERSION: { message: 'unsupported TACACS+ version', exit: 2 },
  /** Packet type other than authentication, authorization or accounting, or not the one expected. */
  ERR_TACACS_BAD_TYPE: { message: 'unexpected packet type', exit: 2 },
  /** Body length above the configured limit (default 64 KiB). */
  ERR_TACACS_TOO_LARGE: { message: 'packet body over the limit', exit: 2 },
  /** Sequence number not the one this side of the session expects (RFC 8907 section 4.1). */
  ERR_TACACS_BAD_SEQUENCE: { message: 'unexpected sequence number', exit: 2 },
  /** A reply for a session this client did not start. */
  ERR_TACACS_SESSION_MISMATCH: { message: 'reply for a session this client did not start', exit: 2 },
  /** Unencrypted flag where obfuscation is required, or obfuscation inside TLS (RFC 9887 section 4). */
  ERR_TACACS_BAD_FLAGS: { message: 'packet protection does not match the connection', exit: 2 },
  /** A value that does not fit its wire field (a user over 255 bytes, more than 255 arguments). */
  ERR_TACACS_FIELD_TOO_LONG: { message: 'a value does not fit its field', exit: 2 },
  /** No reply within the per-request timeout. */
  ERR_TACACS_TIMEOUT: { message: 'no reply in time', exit: 2 },
  /** The overall deadline passed before any server answered. */
  ERR_TACACS_DEADLINE: { message: 'no server answered before the deadline', exit: 2 },
  /** Connection refused, reset or closed before the reply. */
  ERR_TACACS_CONNECTION: { message: 'connection to the server failed', exit: 2 },
  /** TLS handshake failed (certificate refused, protocol version, ...). */
  ERR_TACACS_TLS: { message: 'TLS with the server failed', exit: 2 },
  /** A key file that cannot be read, is empty, or is readable by group or others. */
  ERR_TACACS_KEY_FILE: { message: 'key file unusable', exit: 2 },
  /** A per-connection or per-server limit was reached. */
  ERR_TACACS_LIMIT: { message: 'limit reached', exit: 2 },
  /** The client was closed while the request was pending. */
  ERR_TACACS_CLOSED: { message: 'client closed', exit: 2 },
  /** The peer asked for something this implementation does not do (an authentication conversation
   *  step the client cannot answer, for example). */
  ERR_TACACS_UNSUPPORTED: { message: 'step not supported', exit: 2 },
});

export type TacacsErrorCode = keyof typeof TACACS_ERRORS;

export class TacacsError extends NetwardError<TacacsErrorCode> {
  static override readonly catalogue = TACACS_ERRORS;
  override readonly name = 'TacacsError';
}

export function isTacacsError(e: unknown): e is TacacsError {
  return e instanceof TacacsError;
}
