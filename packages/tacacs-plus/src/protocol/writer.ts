import { TacacsError } from '../errors.ts';

/** A field value: text is written as UTF-8, buffers as they are. */
export type FieldValue = string | Buffer;

export function fieldBytes(value: FieldValue): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}
/**
 * Builds a body from fixed-size numbers and length-prefixed fields, checking every length field. Bytes
 * are collected as numbers and buffers and copied once into a buffer of the exact size.
 */
export class BodyWriter {
  readonly #parts: (number | Buffer)[] = [];
  #length = 0;

  u8(v: number, what: string): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) {
      throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', `${what} does not fit in one byte`);
    }
    this.#parts.push(v);
    this.#length += 1;
    return this;
  }

  u16(v: number, what: string): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', `${what} does not fit in two bytes`);
    }
    this.#parts.push(v >>> 8, v & 0xff);
    this.#length += 2;
    return this;
  }

  bytes(b: Buffer): this {
    if (b.length > 0) {
      this.#parts.push(b);
      this.#length += b.length;
    }
    return this;
  }

  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.#length);
    let pos = 0;
    for (const p of this.#parts) {
      if (typeof p === 'number') out[pos++] = p;
      else {
        p.copy(out, pos);
        pos += p.length;
      }
    }
    return out;
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
