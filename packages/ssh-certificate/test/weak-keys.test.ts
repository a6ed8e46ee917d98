import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatPublicKey,
  keyFromBlob,
  parseCertificate,
  parsePublicKey,
  verifyCertificateSignature,
} from '../src/index.ts';
import { sshKeygen, tempDir } from './helpers/openssh.ts';

// The eight points of small order as libsodium's blocklist spells them (ed25519_ref10.c,
// `has_small_order`), copied as bytes rather than derived from the code under test.
const SMALL_ORDER = [
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

const NON_CANONICAL = [
  ...Array.from({ length: 19 }, (_, k) => yAtOrAboveP(k, false)),
  ...Array.from({ length: 19 }, (_, k) => yAtOrAboveP(k, true)),
  // "Negative zero": x = 0 (y = 1 or y = p - 1) with the sign bit set.
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];

function keyLine(rawHex: string): string {
  const type = Buffer.from('ssh-ed25519');
  const raw = Buffer.from(rawHex, 'hex');
  const blob = Buffer.alloc(4 + type.length + 4 + raw.length);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(raw.length, 4 + type.length);
  raw.copy(blob, 8 + type.length);
  return `ssh-ed25519 ${blob.toString('base64')}`;
}

describe('weak Ed25519 public keys', () => {
  it('refuses each of the eight small-order points', () => {
    expect(new Set(SMALL_ORDER).size).toBe(8);
    for (const hex of SMALL_ORDER) {
      expect(() => parsePublicKey(keyLine(hex)), hex).toThrow(
        expect.objectContaining({
          code: 'ERR_SSH_WEAK_KEY',
          message: 'Ed25519 key is a point of small order',
        }),
      );
    }
  });

  it('refuses every non-canonical encoding: y >= p, and x = 0 with the sign bit set', () => {
    expect(new Set(NON_CANONICAL).size).toBe(40);
    for (const hex of NON_CANONICAL) {
      expect(() => parsePublicKey(keyLine(hex)), hex).toThrow(
        expect.objectContaining({ code: 'ERR_SSH_WEAK_KEY' }),
      );
    }
  });

  it('accepts real keys (fast-check over generated key pairs)', () => {
    fc.assert(
      fc.property(fc.integer(), () => {
        const line = formatPublicKey(generateKeyPairSync('ed25519').publicKey);
        expect(parsePublicKey(line).raw).toHaveLength(32);
      }),
      { numRuns: 200 },
    );
  });
});

describe('RSA CA keys below 2048 bits', () => {
  it('are refused, so a certificate they signed never verifies; 2048 bits verify', () => {
    const dir = tempDir('ssh-certificate-rsa-');
    try {
      const user = join(dir.path, 'user');
      sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', user]);
      const results: Record<number, boolean> = {};
      for (const bits of [1024, 2048]) {
        const ca = join(dir.path, `ca${bits}`);
        sshKeygen(['-q', '-t', 'rsa', '-b', String(bits), '-N', '', '-C', '', '-f', ca]);
        sshKeygen(['-q', '-s', ca, '-I', `rsa${bits}`, '-n', 'net-viewer', '-V', '+5m', `${user}.pub`]);
        const cert = parseCertificate(readFileSync(`${user}-cert.pub`, 'utf8'));
        results[bits] = verifyCertificateSignature(cert);
        if (bits === 1024) {
          expect(() => keyFromBlob(cert.signatureKey)).toThrow(
            expect.objectContaining({
              code: 'ERR_SSH_WEAK_KEY',
              message: 'RSA key of 1024 bits, below 2048',
            }),
          );
        }
      }
      expect(results).toEqual({ 1024: false, 2048: true });
    } finally {
      dir.cleanup();
    }
  });
});
