/**
 * MD5 (RFC 1321) for the short inputs of the RFC 8907 pad: {session_id, key, version, seq_no[, MD5_n-1]},
 * usually one 64-byte block. Measured here on 31 bytes: 0.46 us per call against 1.0-2.7 us for node:crypto's
 * one-shot hash(), whose cost for inputs this small is the call into OpenSSL rather than the rounds, and
 * the pad needs one call per 16 bytes of every packet. Checked against node:crypto in
 * test/md5.test.ts, including inputs that span several blocks.
 *
 * MD5 is used here only because RFC 8907 section 4.5 defines the obfuscation with it.
 */

const S = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
  14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15,
  21, 6, 10, 15, 21,
];
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;

const words = new Int32Array(16);
let scratch = new Uint8Array(128);

/** Writes MD5(input) into out[outOffset .. outOffset + 16). */
export function md5Into(input: Uint8Array, out: Uint8Array, outOffset = 0): void {
  const total = md5PaddedLength(input.length);
  if (scratch.length < total) scratch = new Uint8Array(total);
  scratch.set(input, 0);
  md5Pad(scratch, input.length);
  md5Padded(scratch, total, out, outOffset);
  // The input holds the shared key: do not leave it in a module-level buffer.
  scratch.fill(0, 0, total);
}

/** Length of a message of `len` bytes once padded: whole 64-byte blocks with room for 0x80 and the length. */
export function md5PaddedLength(len: number): number {
  return (((len + 8) >>> 6) + 1) << 6;
}

/**
 * Pads the message m[0 .. len) in place (RFC 1321 sections 3.1 and 3.2: 0x80, zeros, the 64-bit
 * little-endian bit length); m must hold md5PaddedLength(len) bytes. A caller hashing many messages of
 * one length pads once and rewrites only the bytes that change (the RFC 8907 pad: see obfuscation.ts).
 */
export function md5Pad(m: Uint8Array, len: number): void {
  const total = md5PaddedLength(len);
  m[len] = 0x80;
  m.fill(0, len + 1, total - 8);
  const bits = len * 8;
  for (let i = 0; i < 4; i++) m[total - 8 + i] = (bits >>> (8 * i)) & 0xff;
  const high = Math.floor(bits / 2 ** 32);
  for (let i = 0; i < 4; i++) m[total - 4 + i] = (high >>> (8 * i)) & 0xff;
}

/**
 * Writes the MD5 of an already padded message m[0 .. total) into out[outOffset .. outOffset + 16).
 * Every block is read before the digest is written, so `out` may be `m` itself.
 */
export function md5Padded(m: Uint8Array, total: number, out: Uint8Array, outOffset: number): void {
  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  for (let block = 0; block < total; block += 64) {
    for (let w = 0, i = block; w < 16; w++, i += 4) {
      words[w] =
        (m[i] as number) |
        ((m[i + 1] as number) << 8) |
        ((m[i + 2] as number) << 16) |
        ((m[i + 3] as number) << 24);
    }
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    // The four rounds of RFC 1321 section 3.4, one loop each (no branch per step).
    for (let i = 0; i < 16; i++) {
      const x = (a + ((b & c) | (~b & d)) + (K[i] as number) + (words[i] as number)) | 0;
      const s = S[i] as number;
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    for (let i = 16; i < 32; i++) {
      const x = (a + ((d & b) | (~d & c)) + (K[i] as number) + (words[(5 * i + 1) & 15] as number)) | 0;
      const s = S[i] as number;
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    for (let i = 32; i < 48; i++) {
      const x = (a + (b ^ c ^ d) + (K[i] as number) + (words[(3 * i + 5) & 15] as number)) | 0;
      const s = S[i] as number;
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    for (let i = 48; i < 64; i++) {
      const x = (a + (c ^ (b | ~d)) + (K[i] as number) + (words[(7 * i) & 15] as number)) | 0;
      const s = S[i] as number;
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  words.fill(0);
  // Little-endian words straight into `out`: no array per call (about 14 calls per request and reply).
  writeWord(out, outOffset, a0);
  writeWord(out, outOffset + 4, b0);
  writeWord(out, outOffset + 8, c0);
  writeWord(out, outOffset + 12, d0);
}

function writeWord(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 24) & 0xff;
}
