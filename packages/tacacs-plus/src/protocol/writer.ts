import { TacacsError } from '../errors.ts';

/** A field value: text is written as UTF-8, buffers as they are. */
export type FieldValue = string | Buffer;

export function fieldBytes(value: FieldValue): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}
/** Builds a body from fixed-size numbers and length-prefixed fields, checking every length field. */
export class BodyWriter {
  readonly #parts: Buffer[] = [];
  #length = 0;

  u8(v: number, what: string): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) {
      throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', `${what} does not fit in one byte`);
    }
    return this.#push(Buffer.of(v));
  }

  u16(v: number, what: string): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', `${what} does not fit in two bytes`);
    }
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v, 0);
    return this.#push(b);
  }

  bytes(b: Buffer): this {
    return this.#push(b);
  }

  #push(b: Buffer): this {
    this.#parts.push(b);
    this.#length += b.length;
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.#parts, this.#length);
  }
}

/** Length of a field that is announced in one byte (RFC 8907: user, port, rem_addr, args, data). */
export function len8(b: Buffer, what: string): number {
  if (b.length > 0xff) throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', `${what} is over 255 bytes`);
  return b.length;
}

/** Length of a field that is announced in two bytes (server_msg, data, user_msg). */
export function len16(b: Buffer, what: string): number {
  if (b.length > 0xffff) throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', `${what} is over 65535 bytes`);
  return b.length;
}
