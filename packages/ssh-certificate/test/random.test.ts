import { describe, expect, it } from 'vitest';
import { freshRandomBytes } from '../src/random.ts';

describe('freshRandomBytes', () => {
  it('hands out each random byte once, across block refills, in buffers the caller owns', () => {
    const seen = new Set<string>();
    let previous: Buffer | undefined;
    for (let i = 0; i < 1000; i++) {
      const b = freshRandomBytes(i % 2 === 0 ? 32 : 8); // a nonce and a serial per certificate
      expect(b.length).toBe(i % 2 === 0 ? 32 : 8);
      seen.add(b.toString('hex'));
      if (previous) expect(b.buffer === previous.buffer && b.byteOffset === previous.byteOffset).toBe(false);
      previous = b;
    }
    expect(seen.size).toBe(1000);
    const copy = Buffer.from(previous!);
    freshRandomBytes(4000); // forces a refill: bytes already handed out stay as they were
    expect(previous).toEqual(copy);
    expect(freshRandomBytes(10_000).length).toBe(10_000);
  });
});
