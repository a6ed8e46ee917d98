import { md5Into } from './md5.ts';

/**
 * RFC 8907 section 4.5, body obfuscation:
 *
 *   MD5_1 = MD5{session_id, key, version, seq_no}
 *   MD5_n = MD5{session_id, key, version, seq_no, MD5_n-1}
 *   pseudo_pad = {MD5_1 [,MD5_2 [ ... ,MD5_n]]} truncated to len(data)
 *   ENCRYPTED {data} = data ^ pseudo_pad
 *
 * The same operation obfuscates and de-obfuscates. It is not encryption (section 10.5.2): it is here
 * for interoperability on networks where TLS is not available, and refused inside TLS (RFC 9887).
 */
export function applyPad(
  body: Buffer,
  key: Buffer,
  sessionId: number,
  version: number,
  seqNo: number,
  /** Where to write the result; default a new buffer of the body's length. */
  out: Buffer = Buffer.allocUnsafe(body.length),
  outOffset = 0,
): Buffer {
  // One buffer holds {session_id, key, version, seq_no, MD5_n-1}; the tail is refilled each round.
  const base = 4 + key.length + 2;
  const input = Buffer.allocUnsafe(base + 16);
  input.writeUInt32BE(sessionId >>> 0, 0);
  key.copy(input, 4);
  input.writeUInt8(version, 4 + key.length);
  input.writeUInt8(seqNo, 5 + key.length);
  const digest = Buffer.allocUnsafe(16);
  for (let offset = 0; offset < body.length; offset += 16) {
    if (offset > 0) digest.copy(input, base);
    md5Into(offset > 0 ? input : input.subarray(0, base), digest);
    const end = Math.min(16, body.length - offset);
    for (let i = 0; i < end; i++) {
      out[outOffset + offset + i] = (body[offset + i] as number) ^ (digest[i] as number);
    }
  }
  input.fill(0);
  return out;
}
