import { TacacsError } from '../errors.ts';
import { HEADER_LENGTH, MAJOR_VERSION, PacketType, type PacketTypeValue } from './constants.ts';

/**
 * RFC 8907 section 4.1, the packet header:
 *
 *  1 2 3 4 5 6 7 8  1 2 3 4 5 6 7 8  1 2 3 4 5 6 7 8  1 2 3 4 5 6 7 8
 * +----------------+----------------+----------------+----------------+
 * |major  | minor  |                |                |                |
 * |version| version|      type      |     seq_no     |   flags        |
 * +----------------+----------------+----------------+----------------+
 * |                            session_id                             |
 * +----------------+----------------+----------------+----------------+
 * |                              length                               |
 * +----------------+----------------+----------------+----------------+
 */
export interface PacketHeader {
  /** Whole version byte: 0xc0 or 0xc1. */
  readonly version: number;
  readonly type: PacketTypeValue;
  readonly seqNo: number;
  readonly flags: number;
  /** Unsigned 32-bit. */
  readonly sessionId: number;
  /** Body length as announced. */
  readonly length: number;
}

export interface HeaderLimits {
  /** Largest body accepted. Checked before a single body byte is buffered. */
  readonly maxBodyLength: number;
}

/** Decodes and checks the 12 header bytes at the start of `buf` (which must hold at least 12). */
export function decodeHeader(buf: Buffer, limits: HeaderLimits): PacketHeader {
  if (buf.length < HEADER_LENGTH) {
    throw new TacacsError('ERR_TACACS_TRUNCATED', `header needs ${HEADER_LENGTH} bytes, got ${buf.length}`);
  }
  const version = buf.readUInt8(0);
  if (version >> 4 !== MAJOR_VERSION || (version & 0x0f) > 1) {
    throw new TacacsError('ERR_TACACS_BAD_VERSION', `unsupported version 0x${version.toString(16)}`);
  }
  const type = buf.readUInt8(1);
  if (type !== PacketType.AUTHEN && type !== PacketType.AUTHOR && type !== PacketType.ACCT) {
    throw new TacacsError('ERR_TACACS_BAD_TYPE', `unknown packet type 0x${type.toString(16)}`);
  }
  const seqNo = buf.readUInt8(2);
  if (seqNo === 0) {
    // RFC 8907 section 4.1: the first packet of a session has seq_no 1; 0 is never valid.
    throw new TacacsError('ERR_TACACS_BAD_SEQUENCE', 'sequence number 0');
  }
  const length = buf.readUInt32BE(8);
  if (length > limits.maxBodyLength) {
    throw new TacacsError(
      'ERR_TACACS_TOO_LARGE',
      `announced body of ${length} bytes is over the limit of ${limits.maxBodyLength}`,
    );
  }
  return { version, type, seqNo, flags: buf.readUInt8(3), sessionId: buf.readUInt32BE(4), length };
}

export function encodeHeader(header: PacketHeader): Buffer {
  return writeHeader(header, header.flags, header.length, Buffer.allocUnsafe(HEADER_LENGTH));
}

/**
 * Writes the 12 header bytes at the start of `b` and returns it. Flags and length are arguments so that
 * encodePacket, which runs for every packet, does not build a header object to pass them.
 */
export function writeHeader(
  fields: Pick<PacketHeader, 'version' | 'type' | 'seqNo' | 'sessionId'>,
  flags: number,
  length: number,
  b: Buffer,
): Buffer {
  b.writeUInt8(fields.version, 0);
  b.writeUInt8(fields.type, 1);
  b.writeUInt8(fields.seqNo, 2);
  b.writeUInt8(flags, 3);
  b.writeUInt32BE(fields.sessionId >>> 0, 4);
  b.writeUInt32BE(length, 8);
  return b;
}
