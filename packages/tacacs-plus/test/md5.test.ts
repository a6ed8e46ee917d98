import { hash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { md5Into } from '../src/protocol/md5.ts';
import { applyPad } from '../src/protocol/obfuscation.ts';

describe('md5Into', () => {
  it('matches node:crypto on the RFC 1321 test suite and at every block boundary', () => {
    const out = Buffer.alloc(16);
    const rfc1321: [string, string][] = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      [
        '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
        '57edf4a22be3c955ac49da2e2107b67a',
      ],
    ];
    for (const [input, digest] of rfc1321) {
      md5Into(Buffer.from(input), out);
      expect(out.toString('hex')).toBe(digest);
    }
    for (let n = 0; n < 300; n++) {
      const b = Buffer.alloc(n, n & 0xff);
      md5Into(b, out);
      expect(out.equals(hash('md5', b, 'buffer'))).toBe(true);
    }
  });

  it('matches node:crypto on random inputs, writing at an offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), fc.nat({ max: 8 }), (input, at) => {
        const out = Buffer.alloc(at + 16);
        md5Into(input, out, at);
        expect(out.subarray(at).equals(hash('md5', input, 'buffer'))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

/** RFC 8907 section 4.5 written out with node:crypto, one hash per 16 bytes: the reference for applyPad. */
function referencePad(body: Buffer, key: Buffer, sessionId: number, version: number, seqNo: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(sessionId >>> 0);
  const head = Buffer.concat([prefix, key, Buffer.from([version, seqNo])]);
  const pad: Buffer[] = [];
  for (let n = 0; 16 * n < body.length; n++) {
    pad.push(hash('md5', n === 0 ? head : Buffer.concat([head, pad[n - 1] as Buffer]), 'buffer'));
  }
  const out = Buffer.from(body);
  Buffer.concat(pad).forEach((b, i) => {
    if (i < out.length) out[i] = (out[i] as number) ^ b;
  });
  return out;
}

describe('applyPad', () => {
  it('matches RFC 8907 section 4.5 for keys whose messages span one, two and three MD5 blocks', () => {
    // {session_id, key, version, seq_no} is one block up to a 49-byte key and {..., MD5_n-1} up to a
    // 33-byte key: the lengths below cross both boundaries, and 0-70 body bytes cover partial last rounds.
    for (const keyLength of [1, 11, 33, 34, 49, 50, 64, 120, 200]) {
      const key = Buffer.alloc(keyLength, 0x6b);
      for (let n = 0; n <= 70; n++) {
        const body = Buffer.alloc(n, n);
        const sid = 0x80000000 + n;
        expect(applyPad(body, key, sid, 0xc1, 3).equals(referencePad(body, key, sid, 0xc1, 3))).toBe(true);
      }
    }
  });

  it('matches the reference on random input, written at an offset', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.uint8Array({ maxLength: 400 }),
        fc.nat({ max: 0xffffffff }),
        fc.integer({ min: 1, max: 255 }),
        (key, body, sid, seq) => {
          const out = Buffer.alloc(body.length + 12, 0xee);
          applyPad(Buffer.from(body), Buffer.from(key), sid, 0xc0, seq, out, 12);
          const want = referencePad(Buffer.from(body), Buffer.from(key), sid, 0xc0, seq);
          expect(out.subarray(12).equals(want)).toBe(true);
          expect(out.subarray(0, 12).equals(Buffer.alloc(12, 0xee))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
