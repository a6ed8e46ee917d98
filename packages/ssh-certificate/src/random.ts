/**
 * CSPRNG bytes taken from a refilled block instead of one `randomBytes` call each: every certificate
 * needs a 32-byte nonce and an 8-byte serial, and a `randomBytes` call costs a few microseconds of
 * fixed overhead (allocation, a call into OpenSSL's RAND_bytes) whatever its size; the broker
 * benchmark's profile had ~2% of the event loop in `randomFillSync`. Bytes are handed out once and never
 * reused.
 */
import { randomFillSync } from 'node:crypto';

const BLOCK = 4096;
const block = Buffer.allocUnsafe(BLOCK);
let offset = BLOCK;

/** `n` fresh random bytes (a copy the caller owns). */
export function freshRandomBytes(n: number): Buffer {
  if (n > BLOCK) return randomFillSync(Buffer.allocUnsafe(n));
  if (offset + n > BLOCK) {
    randomFillSync(block);
    offset = 0;
  }
  const out = Buffer.from(block.subarray(offset, offset + n));
  // Wiped as it is handed out, so no byte of the block is ever seen twice.
  block.fill(0, offset, offset + n);
  offset += n;
  return out;
}
