import { hash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { md5Into } from '../src/protocol/md5.ts';

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
