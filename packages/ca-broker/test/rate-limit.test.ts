import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../src/rate-limit.ts';

describe('per-user token bucket', () => {
  it('allows the burst, then one per refill interval, per user', () => {
    let t = 0;
    const limiter = createRateLimiter({ burst: 3, perSecond: 2 }, () => t);
    expect([limiter.take('bob'), limiter.take('bob'), limiter.take('bob')]).toEqual([0, 0, 0]);
    expect(limiter.take('bob')).toBe(1);
    expect(limiter.take('alice')).toBe(0);
    t += 500; // half a second refills one token at 2/s
    expect(limiter.take('bob')).toBe(0);
    expect(limiter.take('bob')).toBeGreaterThan(0);
    t += 60_000; // full again, never above the burst
    expect([limiter.take('bob'), limiter.take('bob'), limiter.take('bob'), limiter.take('bob')]).toEqual([
      0, 0, 0, 1,
    ]);
  });

  it('bounds memory: refilled buckets are swept, and the oldest evicted past maxUsers', () => {
    let t = 0;
    const limiter = createRateLimiter({ burst: 2, perSecond: 1, maxUsers: 100 }, () => t);
    for (let i = 0; i < 500; i++) limiter.take(`u${i}`);
    expect(limiter.size).toBeLessThanOrEqual(100);
    t += 60_000;
    limiter.take('late');
    expect(limiter.size).toBe(1);
  });

  it('never grants more than burst + rate x time (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 200 }),
        (burst, perSecond, gaps) => {
          let t = 0;
          const limiter = createRateLimiter({ burst, perSecond }, () => t);
          let granted = 0;
          for (const gap of gaps) {
            t += gap;
            if (limiter.take('u') === 0) granted++;
          }
          return granted <= burst + Math.floor((t / 1000) * perSecond);
        },
      ),
    );
  });
});
