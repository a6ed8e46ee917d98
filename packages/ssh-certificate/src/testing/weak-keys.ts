/** Ed25519 public keys no private key stands behind: the vectors the codec and the broker refuse. */

// The eight points of small order as libsodium's blocklist spells them (ed25519_ref10.c,
// `has_small_order`), copied as bytes rather than derived from the code under test.
export const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity, order 1
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4 (the all-zero key)
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
];

/** y = p + k for k in 0..18 (p = 2^255 - 19): every value of y at or above p, little-endian. */
function yAtOrAboveP(k: number, signBit: boolean): string {
  const b = Buffer.alloc(32, 0xff);
  b[0] = 0xed + k; // p's lowest byte is 0xed; 0xed + 18 = 0xff, so no carry.
  b[31] = signBit ? 0xff : 0x7f;
  return b.toString('hex');
}

export const NON_CANONICAL = [
  ...Array.from({ length: 19 }, (_, k) => yAtOrAboveP(k, false)),
  ...Array.from({ length: 19 }, (_, k) => yAtOrAboveP(k, true)),
  // "Negative zero": x = 0 (y = 1 or y = p - 1) with the sign bit set.
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];

export function keyLine(rawHex: string): string {
  const type = Buffer.from('ssh-ed25519');
  const raw = Buffer.from(rawHex, 'hex');
  const blob = Buffer.alloc(4 + type.length + 4 + raw.length);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(raw.length, 4 + type.length);
  raw.copy(blob, 8 + type.length);
  return `ssh-ed25519 ${blob.toString('base64')}`;
}
