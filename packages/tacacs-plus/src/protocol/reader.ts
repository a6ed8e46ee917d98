import { TacacsError } from '../errors.ts';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_LENIENT = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** For display only: invalid sequences become U+FFFD. Decisions use the bytes. */
export function lenientText(b: Uint8Array): string {
  return UTF8_LENIENT.decode(b);
}

/**
 * A bounds-checked cursor over one packet body. Every read checks the remaining length first and throws
 * ERR_TACACS_MALFORMED_PACKET instead of returning undefined or reading a neighbour's bytes: the
 * reader is built over exactly the declared body, so it cannot see anything past it.
 */
export class BodyReader {
  readonly #buf: Buffer;
  #pos = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  #need(n: number, what: string): void {
    if (n > this.#buf.length - this.#pos) {
      throw new TacacsError(
        'ERR_TACACS_MALFORMED_PACKET',
        `body too short for ${what}: need ${n} bytes at offset ${this.#pos}, body has ${this.#buf.length}`,
      );
    }
  }

  u8(what: string): number {
    this.#need(1, what);
    const v = this.#buf[this.#pos] as number;
    this.#pos += 1;
    return v;
  }

  u16(what: string): number {
    this.#need(2, what);
    const v = this.#buf.readUInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }

  bytes(n: number, what: string): Buffer {
    this.#need(n, what);
    const v = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /**
   * Field text. RFC 8907 section 3.7 allows UTF-8 in text fields; a byte sequence that is not UTF-8 is
   * refused rather than replaced with U+FFFD, so that decode then encode gives back the same bytes and
   * two different byte strings never compare equal after decoding.
   */
  text(n: number, what: string): string {
    // Most reply fields are empty (server_msg, data): no call into the decoder for them.
    if (n === 0) return '';
    const b = this.bytes(n, what);
    try {
      return UTF8.decode(b);
    } catch (cause) {
      throw new TacacsError('ERR_TACACS_MALFORMED_PACKET', `${what} is not UTF-8`, { cause });
    }
  }

  /** RFC 8907 lengths are exact: bytes left over after the last field mean a malformed (or wrongly
   *  de-obfuscated) body. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new TacacsError(
        'ERR_TACACS_MALFORMED_PACKET',
        `${this.remaining} unexpected bytes after ${what}`,
      );
    }
  }
}
