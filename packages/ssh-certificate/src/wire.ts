/**
 * The SSH wire encoding (RFC 4251 section 5) that public keys, certificates and signatures share:
 *
 *   uint32   4 bytes, big endian
 *   uint64   8 bytes, big endian
 *   string   uint32 length + that many bytes
 *   mpint    a string holding a two's complement big-endian integer (used by RSA/ECDSA signatures)
 *
 * The reader never reads past the buffer or past a declared length: every overrun is a typed error.
 */
import { SshCertificateError, type SshCertificateErrorCode } from './errors.ts';

export class SshReader {
  #buf: Buffer;
  #pos = 0;
  readonly #code: SshCertificateErrorCode;

  constructor(buf: Buffer, code: SshCertificateErrorCode) {
    this.#buf = buf;
    this.#code = code;
  }

  get offset(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  #need(n: number, what: string): void {
    if (n > this.#buf.length - this.#pos) {
      throw new SshCertificateError(this.#code, `truncated ${what}`);
    }
  }

  uint32(what = 'uint32'): number {
    this.#need(4, what);
    const v = this.#buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  uint64(what = 'uint64'): bigint {
    this.#need(8, what);
    const v = this.#buf.readBigUInt64BE(this.#pos);
    this.#pos += 8;
    return v;
  }

  bytes(what = 'string'): Buffer {
    const len = this.uint32(`${what} length`);
    this.#need(len, what);
    const v = this.#buf.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return v;
  }

  /** A string that must be valid UTF-8 (names, key ids, principals). */
  text(what = 'string'): string {
    const raw = this.bytes(what);
    const s = raw.toString('utf8');
    // A round trip detects invalid sequences, which Buffer#toString would silently replace.
    if (!Buffer.from(s, 'utf8').equals(raw))
      throw new SshCertificateError(this.#code, `${what} is not UTF-8`);
    return s;
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new SshCertificateError(this.#code, `trailing bytes after ${what}`);
  }
}

export class SshWriter {
  readonly #parts: Buffer[] = [];
  #length = 0;

  #push(b: Buffer): this {
    this.#parts.push(b);
    this.#length += b.length;
    return this;
  }

  uint32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v, 0);
    return this.#push(b);
  }

  uint64(v: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(v, 0);
    return this.#push(b);
  }

  bytes(v: Uint8Array): this {
    this.uint32(v.length);
    return this.#push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }

  text(v: string): this {
    return this.bytes(Buffer.from(v, 'utf8'));
  }

  /** Appends bytes without a length prefix. */
  raw(v: Buffer): this {
    return this.#push(v);
  }

  get length(): number {
    return this.#length;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#parts, this.#length);
  }
}

/** Encodes one SSH string (length + bytes). */
export function sshString(v: Uint8Array | string): Buffer {
  return new SshWriter().bytes(typeof v === 'string' ? Buffer.from(v, 'utf8') : v).toBuffer();
}
