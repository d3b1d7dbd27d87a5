// Login throttling, in memory (one process serves all logins of an instance; with several
// instances each throttles its own share). Failures are counted per (email, client address), so an
// attacker's wrong passwords slow down the attacker and not the account's owner signing in from
// elsewhere; a second count per client address across all emails stops one address from trying a
// password against many accounts. Neither counts successes, and nothing counts per email alone:
// that is the count anyone can drive up to lock a user out.
import { isIP } from "node:net";

export interface BackoffPolicy {
  /** Failures allowed before the first lock. */
  free: number;
  /** The first lock; each further failure doubles it, up to `maxMs`. */
  baseMs: number;
  maxMs: number;
  /** A key with no failure for this long starts again from zero. */
  forgetMs: number;
}

export interface Backoff {
  /** Milliseconds until `key` may try again (0: now). */
  retryAfter(key: string, now?: number): number;
  /** An attempt starts; it counts towards the limit until `end`, so parallel attempts cannot all pass one check. */
  begin(key: string, now?: number): void;
  end(key: string, failed: boolean, now?: number): void;
  reset(key: string): void;
}

/** How long a client waits while its attempts in flight could reach the limit. */
const IN_FLIGHT_RETRY_MS = 1_000;
const MAX_KEYS = 100_000;

export function createBackoff(policy: BackoffPolicy): Backoff {
  const entries = new Map<string, { failures: number; pending: number; last: number; lockedUntil: number }>();
  const entry = (key: string, now: number) => {
    let e = entries.get(key);
    if (e && e.pending === 0 && now - e.last >= policy.forgetMs) e = undefined;
    if (!e) {
      e = { failures: 0, pending: 0, last: now, lockedUntil: 0 };
      entries.set(key, e);
      if (entries.size > MAX_KEYS) prune(now);
    }
    return e;
  };
  const prune = (now: number) => {
    for (const [k, e] of entries) if (e.pending === 0 && now - e.last >= policy.forgetMs) entries.delete(k);
    // Still full (an attack from very many addresses): drop the oldest keys, not the process.
    for (const k of entries.keys()) {
      if (entries.size <= MAX_KEYS) break;
      entries.delete(k);
    }
  };
  return {
    retryAfter(key, now = Date.now()) {
      const e = entries.get(key);
      if (!e || (e.pending === 0 && now - e.last >= policy.forgetMs)) return 0;
      if (e.lockedUntil > now) return e.lockedUntil - now;
      return e.failures + e.pending >= policy.free && e.pending > 0 ? IN_FLIGHT_RETRY_MS : 0;
    },
    begin(key, now = Date.now()) {
      entry(key, now).pending++;
    },
    end(key, failed, now = Date.now()) {
      const e = entry(key, now);
      e.pending = Math.max(0, e.pending - 1);
      if (!failed) return;
      e.failures++;
      e.last = now;
      if (e.failures >= policy.free) e.lockedUntil = now + Math.min(policy.maxMs, policy.baseMs * 2 ** (e.failures - policy.free));
    },
    reset(key) {
      entries.delete(key);
    },
  };
}

/**
 * The key for a client address: IPv4 as is (also when written as ::ffff:a.b.c.d), IPv6 by its
 * /64, because one host usually holds a whole /64 and could otherwise take a fresh address per try.
 */
export function addressKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1];
  if (isIP(ip) !== 6) return ip;
  const [head, tail = ""] = ip.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

export interface LoginThrottle {
  /** Milliseconds until this email may be tried from this address again (0: now). */
  retryAfter(email: string, ip: string, now?: number): number;
  begin(email: string, ip: string, now?: number): void;
  /** The password was right: clears the (email, address) count. */
  succeed(email: string, ip: string): void;
  fail(email: string, ip: string, now?: number): void;
  /** The check itself broke (database down): not the client's failure. */
  abandon(email: string, ip: string): void;
}

/** 5 failures per (email, address), then 30 s doubling to 15 min; 30 failures per address over all emails, then the same. */
export const PAIR_POLICY: BackoffPolicy = { free: 5, baseMs: 30_000, maxMs: 15 * 60_000, forgetMs: 60 * 60_000 };
export const ADDRESS_POLICY: BackoffPolicy = { free: 30, baseMs: 30_000, maxMs: 15 * 60_000, forgetMs: 60 * 60_000 };

export function createLoginThrottle(pairPolicy = PAIR_POLICY, addressPolicy = ADDRESS_POLICY): LoginThrottle {
  const pairs = createBackoff(pairPolicy);
  const addresses = createBackoff(addressPolicy);
  const pairKey = (email: string, ip: string) => `${addressKey(ip)} ${email}`;
  return {
    retryAfter(email, ip, now = Date.now()) {
      return Math.max(pairs.retryAfter(pairKey(email, ip), now), addresses.retryAfter(addressKey(ip), now));
    },
    begin(email, ip, now = Date.now()) {
      pairs.begin(pairKey(email, ip), now);
      addresses.begin(addressKey(ip), now);
    },
    succeed(email, ip) {
      pairs.reset(pairKey(email, ip));
      // The address keeps its failures: a client spraying passwords that also holds a valid
      // account must not clear its count by signing in now and then.
      addresses.end(addressKey(ip), false);
    },
    fail(email, ip, now = Date.now()) {
      pairs.end(pairKey(email, ip), true, now);
      addresses.end(addressKey(ip), true, now);
    },
    abandon(email, ip) {
      pairs.end(pairKey(email, ip), false);
      addresses.end(addressKey(ip), false);
    },
  };
}

const g = globalThis as unknown as { __certfleetLoginThrottle?: LoginThrottle };
export function loginThrottle(): LoginThrottle {
  return (g.__certfleetLoginThrottle ??= createLoginThrottle());
}
