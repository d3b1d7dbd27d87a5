// Login throttling, in memory. One count per server: with cluster workers the counts live in the
// primary and workers ask it (sharedThrottle below), so N workers allow what one process does;
// several servers on one database each throttle their own share. Failures are counted per (email, client address), so an
// attacker's wrong passwords slow down the attacker and not the account's owner signing in from
// elsewhere; a second count per client address across all emails stops one address from trying a
// password against many accounts. Neither counts successes, and nothing counts per email alone:
// that is the count anyone can drive up to lock a user out.
import { isIP } from "node:net";
import { answerWorkers, askPrimary, inClusterWorker, TOPICS } from "../ipc";

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

/** Which count: sign-in (lib/auth/options.ts) or EST one-time secrets (lib/services/est.ts); same policy. */
export type ThrottleName = "login" | "est-secret";

/** One server's throttle as its request handlers use it: every step may ask the primary. */
export interface SharedThrottle {
  /** Begins an attempt unless the pair or the address must wait: 0 (begun) or the milliseconds to wait (not begun). */
  tryBegin(email: string, ip: string): Promise<number>;
  succeed(email: string, ip: string): Promise<void>;
  fail(email: string, ip: string): Promise<void>;
  abandon(email: string, ip: string): Promise<void>;
}

type Step = "tryBegin" | "succeed" | "fail" | "abandon";
interface StepMessage {
  name: ThrottleName;
  step: Step;
  email: string;
  ip: string;
}

const g = globalThis as unknown as { __certfleetThrottles?: Map<ThrottleName, LoginThrottle> };
function localThrottle(name: ThrottleName): LoginThrottle {
  const all = (g.__certfleetThrottles ??= new Map());
  let t = all.get(name);
  if (!t) all.set(name, (t = createLoginThrottle()));
  return t;
}

/** One step on this process's counts; check and begin in one synchronous step, so parallel attempts cannot all pass. */
function applyStep({ name, step, email, ip }: StepMessage): number {
  const t = localThrottle(name);
  if (step === "tryBegin") {
    const wait = t.retryAfter(email, ip);
    if (wait === 0) t.begin(email, ip);
    return wait;
  }
  t[step](email, ip);
  return 0;
}

/** The primary keeps the counts for its workers (lib/server/jobs.ts calls this). */
export function serveSharedThrottles(): void {
  answerWorkers(TOPICS.throttle, (payload) => applyStep(payload as StepMessage));
}

export function sharedThrottle(name: ThrottleName): SharedThrottle {
  const step = (s: Step, email: string, ip: string): Promise<number> => {
    const message: StepMessage = { name, step: s, email, ip };
    return inClusterWorker() ? askPrimary<number>(TOPICS.throttle, message) : Promise.resolve(applyStep(message));
  };
  // An outcome the primary did not hear (it is restarting) is logged, not the client's error.
  const report = (s: Step) => async (email: string, ip: string) => {
    await step(s, email, ip).catch((e) => console.error(`[certfleet] ${name} throttle: ${e instanceof Error ? e.message : e}`));
  };
  return { tryBegin: (email, ip) => step("tryBegin", email, ip), succeed: report("succeed"), fail: report("fail"), abandon: report("abandon") };
}
