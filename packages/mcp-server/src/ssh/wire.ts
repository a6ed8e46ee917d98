/**
 * The SSH wire encoding (RFC 4251 section 5) that keys and certificates use: uint32, uint64 and
 * length-prefixed strings. The reader never reads past the buffer; every overrun is a typed error.
 */
import { McpServerError } from '../errors.ts';

export class WireReader {
  readonly #buf: Buffer;
  #pos = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  get offset(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  #need(n: number, what: string): void {
    if (n > this.#buf.length - this.#pos) {
      throw new McpServerError('ERR_MCP_HOST_KEY', `truncated ${what} in SSH key blob`);
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

  text(what = 'string'): string {
    return this.bytes(what).toString('utf8');
  }
}

/** `string` of RFC 4251 section 5: uint32 length + bytes. */
export function sshString(value: Buffer | string): Buffer {
  const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}
