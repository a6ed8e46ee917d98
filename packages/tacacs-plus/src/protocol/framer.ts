import { TacacsError } from '../errors.ts';
import { DEFAULT_MAX_BODY_LENGTH, HEADER_LENGTH } from './constants.ts';
import { decodeHeader, type PacketHeader } from './header.ts';

export interface Frame {
  readonly header: PacketHeader;
  /** The body as it came off the wire (still obfuscated unless the UNENCRYPTED flag is set). */
  readonly raw: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Where a connection's packets go: the client's and the server's connections both read through feed(). */
export interface FrameSink {
  /** True once the connection has failed or is closing: no further packet is handed over. */
  readonly stopped: boolean;
  frame(frame: Frame): void;
  /** The stream lost its framing (a bad header, a body over the limit): it cannot be re-synchronised. */
  badFrame(error: TacacsError): void;
}

/**
 * Cuts a TCP or TLS byte stream into whole packets. The header is checked as soon as its 12 bytes are
 * in, so a bad version or an oversized length is refused before any of the body is buffered: memory
 * held is at most one header, one body under the limit, and the chunk being processed.
 *
 * After an error the framer stays failed: a stream that lost its framing cannot be trusted again.
 */
export class PacketFramer {
  readonly #maxBodyLength: number;
  #pending: Buffer = EMPTY;
  #header: PacketHeader | undefined;
  #failed: TacacsError | undefined;

  constructor(options: { maxBodyLength?: number } = {}) {
    this.#maxBodyLength = options.maxBodyLength ?? DEFAULT_MAX_BODY_LENGTH;
  }

  /** Bytes received but not yet part of a whole packet. */
  get buffered(): number {
    return this.#pending.length + (this.#header ? HEADER_LENGTH : 0);
  }

  /** Feeds a chunk; returns the packets it completed, in order. Throws a TacacsError on bad framing. */
  push(chunk: Buffer): Frame[] {
    if (this.#failed) throw this.#failed;
    const buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    let offset = 0;
    try {
      for (;;) {
        if (this.#header === undefined) {
          if (buf.length - offset < HEADER_LENGTH) break;
          this.#header = decodeHeader(buf.subarray(offset, offset + HEADER_LENGTH), {
            maxBodyLength: this.#maxBodyLength,
          });
          offset += HEADER_LENGTH;
        }
        const length = this.#header.length;
        if (buf.length - offset < length) break;
        frames.push({ header: this.#header, raw: buf.subarray(offset, offset + length) });
        offset += length;
        this.#header = undefined;
      }
    } catch (e) {
      this.#failed =
        e instanceof TacacsError
          ? e
          : new TacacsError('ERR_TACACS_MALFORMED_PACKET', 'bad frame', { cause: e });
      this.#pending = EMPTY;
      throw this.#failed;
    }
    // Keep only the unconsumed tail, copied so a large chunk is not retained for a few bytes.
    this.#pending = offset === buf.length ? EMPTY : Buffer.from(buf.subarray(offset));
    return frames;
  }

  /**
   * Feeds a chunk and hands the packets it completed to `sink`, in order, until the sink stops (a packet
   * can end the connection: the ones after it in the same chunk are then not looked at).
   */
  feed(chunk: Buffer, sink: FrameSink): void {
    if (sink.stopped) return;
    let frames: Frame[];
    try {
      frames = this.push(chunk);
    } catch (e) {
      sink.badFrame(e as TacacsError);
      return;
    }
    for (const frame of frames) {
      if (sink.stopped) return;
      sink.frame(frame);
    }
  }

  /** True when the stream ended in the middle of a packet. */
  get midPacket(): boolean {
    return this.#pending.length > 0 || this.#header !== undefined;
  }
}
