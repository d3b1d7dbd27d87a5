// Fixed-window login throttling per email and per client IP, in memory (one process serves all
// logins of an instance; with several instances each throttles its own share).
export interface RateLimiter {
  /** Records one attempt; false when the key is over its limit for the current window. */
  hit(key: string, now?: number): boolean;
  reset(key: string): void;
}

export function createRateLimiter(limit: number, windowMs: number): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    hit(key, now = Date.now()) {
      const w = windows.get(key);
      if (!w || now - w.start >= windowMs) {
        windows.set(key, { start: now, count: 1 });
        if (windows.size > 100_000) {
          for (const [k, v] of windows) if (now - v.start >= windowMs) windows.delete(k);
        }
        return true;
      }
      w.count++;
      return w.count <= limit;
    },
    reset(key) {
      windows.delete(key);
    },
  };
}

const g = globalThis as unknown as { __certfleetLoginLimits?: { email: RateLimiter; ip: RateLimiter } };
/** 10 attempts per email and 30 per IP in 15 minutes. */
export function loginLimits() {
  return (g.__certfleetLoginLimits ??= {
    email: createRateLimiter(10, 15 * 60_000),
    ip: createRateLimiter(30, 15 * 60_000),
  });
}
