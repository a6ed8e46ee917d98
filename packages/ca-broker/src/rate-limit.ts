/**
 * Per-user token buckets. A user may take `burst` certificates at once and `perSecond` sustained.
 * Memory is bounded: buckets that have refilled are dropped, and past `maxUsers` the oldest are
 * evicted (an evicted user gets a full bucket, which errs on the side of availability for a limit
 * that is a brake on runaway agents, not an authorisation decision).
 */
export interface RateLimiter {
  /** Takes one token; returns 0 when allowed, else the seconds until one is available. */
  take(user: string): number;
  readonly size: number;
}

export function createRateLimiter(
  options: { burst: number; perSecond: number; maxUsers?: number },
  now: () => number = Date.now,
): RateLimiter {
  const { burst, perSecond } = options;
  const maxUsers = options.maxUsers ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sweepAt = 0;

  function sweep(t: number) {
    for (const [user, b] of buckets) {
      if (b.tokens + ((t - b.at) / 1000) * perSecond >= burst) buckets.delete(user);
    }
    sweepAt = t + 10_000;
  }

  return {
    get size() {
      return buckets.size;
    },
    take(user) {
      const t = now();
      if (t >= sweepAt) sweep(t);
      let b = buckets.get(user);
      if (b === undefined) {
        if (buckets.size >= maxUsers) {
          const oldest = buckets.keys().next();
          if (!oldest.done) buckets.delete(oldest.value);
        }
        b = { tokens: burst, at: t };
        buckets.set(user, b);
      } else {
        b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond);
        b.at = t;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - b.tokens) / perSecond);
    },
  };
}
