// Time as lib/pki sees it: injected, so validity windows and expiry are testable with a fixed clock.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock stuck at one instant (tests, replay of a decision). */
export function fixedClock(at: Date | string | number): Clock {
  const ms = new Date(at).getTime();
  if (Number.isNaN(ms)) throw new TypeError(`fixedClock: not a date: ${String(at)}`);
  return { now: () => new Date(ms) };
}
