import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@netward/kit/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatPublicKey,
  keyFromBlob,
  parseCertificate,
  parsePublicKey,
  verifyCertificateSignature,
} from '../src/index.ts';
import { sshKeygen } from '../src/testing/openssh.ts';
import { keyLine, NON_CANONICAL, SMALL_ORDER } from '../src/testing/weak-keys.ts';

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
    const dir = tempDir('ssh-certificate-rsa');
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
      dir.remove();
    }
  });
});
