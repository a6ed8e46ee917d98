import { TacacsError } from '../errors.ts';

/** A field value: text is written as UTF-8, buffers as they are. */
export type FieldValue = string | Buffer;

/** The bytes `value` takes on the wire, measured without encoding it. */
export function fieldLength(value: FieldValue): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
}

/**
 * Writes `value` at `pos` and returns the position after it. Text goes straight into the body as UTF-8:
 * no intermediate buffer per field (a request has seven or more, and each was an allocation).
 */
export function writeField(out: Buffer, value: FieldValue, pos: number): number {
  if (typeof value === 'string') return pos + out.write(value, pos, 'utf8');
  return pos + value.copy(out, pos);
}

/** A one-byte number field, checked. */
export function byte(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) {
    throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', `${what} does not fit in one byte`);
  }
  return v;
}

/** Length of a field that is announced in one byte (RFC 8907: user, port, rem_addr, args, data). */
export function len8(n: number, what: string): number {
  if (n > 0xff) throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', `${what} is over 255 bytes`);
  return n;
}

/** Length of a field that is announced in two bytes (server_msg, data, user_msg). */
export function len16(n: number, what: string): number {
  if (n > 0xffff) throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', `${what} is over 65535 bytes`);
  return n;
}
