/**
 * Every failure of this package is a TacacsError with a stable code. Callers branch on `code`, never on
 * the message. Messages name what was wrong with the packet or the peer, never the shared key, a
 * password or the bytes that carried them.
 */
export type TacacsErrorCode =
  /** Fewer bytes than the header or a length field announced. */
  | 'ERR_TACACS_TRUNCATED'
  /** Body fields that do not add up to the body length, unknown enumerations, trailing bytes. A reply
   *  de-obfuscated with the wrong key ends here: it is indistinguishable from garbage, by design. */
  | 'ERR_TACACS_MALFORMED_PACKET'
  /** Major version other than 0xc, or a minor version other than 0 and 1 (RFC 8907 section 4.1). */
  | 'ERR_TACACS_BAD_VERSION'
  /** Packet type other than authentication, authorization or accounting, or not the one expected. */
  | 'ERR_TACACS_BAD_TYPE'
  /** Body length above the configured limit (default 64 KiB). */
  | 'ERR_TACACS_TOO_LARGE'
  /** Sequence number not the one this side of the session expects (RFC 8907 section 4.1). */
  | 'ERR_TACACS_BAD_SEQUENCE'
  /** A reply for a session this client did not start. */
  | 'ERR_TACACS_SESSION_MISMATCH'
  /** Unencrypted flag where obfuscation is required, or obfuscation inside TLS (RFC 9887 section 4). */
  | 'ERR_TACACS_BAD_FLAGS'
  /** A value that does not fit its wire field (a user over 255 bytes, more than 255 arguments). */
  | 'ERR_TACACS_FIELD_TOO_LONG'
  /** No reply within the per-request timeout. */
  | 'ERR_TACACS_TIMEOUT'
  /** The overall deadline passed before any server answered. */
  | 'ERR_TACACS_DEADLINE'
  /** Connection refused, reset or closed before the reply. */
  | 'ERR_TACACS_CONNECTION'
  /** TLS handshake failed (certificate refused, protocol version, ...). */
  | 'ERR_TACACS_TLS'
  /** A key file that cannot be read, is empty, or is readable by group or others. */
  | 'ERR_TACACS_KEY_FILE'
  /** A per-connection or per-server limit was reached. */
  | 'ERR_TACACS_LIMIT'
  /** The client was closed while the request was pending. */
  | 'ERR_TACACS_CLOSED'
  /** The peer asked for something this implementation does not do (an authentication conversation
   *  step the client cannot answer, for example). */
  | 'ERR_TACACS_UNSUPPORTED';

export class TacacsError extends Error {
  override readonly name = 'TacacsError';
  readonly code: TacacsErrorCode;

  constructor(code: TacacsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export function isTacacsError(e: unknown): e is TacacsError {
  return e instanceof TacacsError;
}
