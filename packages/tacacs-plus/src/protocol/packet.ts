import { TacacsError } from '../errors.ts';
import { DEFAULT_MAX_BODY_LENGTH, HEADER_LENGTH, HeaderFlag, type PacketTypeValue } from './constants.ts';
import { decodeHeader, type PacketHeader, writeHeader } from './header.ts';
import { applyPad } from './obfuscation.ts';

/** What a transport allows: MD5 obfuscation with a shared key (plain TCP), or TLS (unencrypted flag). */
export type Protection = { readonly kind: 'key'; readonly key: Buffer } | { readonly kind: 'tls' };

export interface PacketFields {
  readonly version: number;
  readonly type: PacketTypeValue;
  readonly seqNo: number;
  /** SINGLE_CONNECT may be set here; UNENCRYPTED is decided by the protection, not by the caller. */
  readonly flags: number;
  readonly sessionId: number;
}

export interface Packet {
  readonly header: PacketHeader;
  /** The cleartext body (de-obfuscated when the packet was obfuscated). */
  readonly body: Buffer;
}

/**
 * Header plus obfuscated body. With a key the UNENCRYPTED flag is cleared and the body padded
 * (RFC 8907 section 4.5); over TLS the flag is set and the body goes as it is (RFC 9887 section 4).
 */
export function encodePacket(fields: PacketFields, body: Buffer, protection: Protection): Buffer {
  const tls = protection.kind === 'tls';
  const flags = tls ? fields.flags | HeaderFlag.UNENCRYPTED : fields.flags & ~HeaderFlag.UNENCRYPTED;
  // Header and body in one allocation; the pad is written straight after the header.
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  writeHeader(fields, flags, body.length, out);
  if (tls) body.copy(out, HEADER_LENGTH);
  else applyPad(body, protection.key, fields.sessionId, fields.version, fields.seqNo, out, HEADER_LENGTH);
  return out;
}

/**
 * Checks the UNENCRYPTED flag against the transport and returns the cleartext body. An unobfuscated
 * packet on a keyed connection and an obfuscated one inside TLS are both refused: accepting either
 * would let a peer choose a weaker protection than the one configured.
 */
export function openBody(header: PacketHeader, raw: Buffer, protection: Protection): Buffer {
  const unencrypted = (header.flags & HeaderFlag.UNENCRYPTED) !== 0;
  if (protection.kind === 'tls') {
    if (!unencrypted) {
      throw new TacacsError('ERR_TACACS_BAD_FLAGS', 'obfuscated packet inside TLS (RFC 9887 section 4)');
    }
    return raw;
  }
  if (unencrypted) {
    throw new TacacsError('ERR_TACACS_BAD_FLAGS', 'unobfuscated packet on a connection with a shared key');
  }
  return applyPad(raw, protection.key, header.sessionId, header.version, header.seqNo);
}

export interface DecodeOptions {
  readonly maxBodyLength?: number;
}

/**
 * Decodes exactly one whole packet: `buf` must be the 12-byte header and the announced body, nothing
 * less and nothing more. For a stream, use PacketFramer.
 */
export function decodePacket(buf: Buffer, protection: Protection, options: DecodeOptions = {}): Packet {
  const header = decodeHeader(buf, { maxBodyLength: options.maxBodyLength ?? DEFAULT_MAX_BODY_LENGTH });
  const total = HEADER_LENGTH + header.length;
  if (buf.length < total) {
    throw new TacacsError(
      'ERR_TACACS_TRUNCATED',
      `packet announces ${header.length} body bytes, has ${buf.length - HEADER_LENGTH}`,
    );
  }
  if (buf.length > total) {
    throw new TacacsError(
      'ERR_TACACS_MALFORMED_PACKET',
      `${buf.length - total} bytes after the announced body`,
    );
  }
  return { header, body: openBody(header, buf.subarray(HEADER_LENGTH, total), protection) };
}
