// Formatting shared by server and client components. Always UTC and a fixed locale, so the server's
// HTML and the browser's hydration agree to the character.
const DAY = 86_400_000;

export function formatDate(d: Date | string | null | undefined): string {
  if (!d) return "—";
  return new Date(d).toISOString().slice(0, 10);
}

export function formatDateTime(d: Date | string | null | undefined): string {
  if (!d) return "—";
  const iso = new Date(d).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat("en-US").format(n);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** "in 3 days", "5 min ago" — coarse on purpose: operators read it at a glance. */
export function relativeTime(d: Date | string, now: Date | number = Date.now()): string {
  const diff = new Date(d).getTime() - (typeof now === "number" ? now : now.getTime());
  const abs = Math.abs(diff);
  const future = diff >= 0;
  let text: string;
  if (abs < 60_000) return future ? "in under a minute" : "just now";
  if (abs < 3_600_000) text = `${Math.round(abs / 60_000)} min`;
  else if (abs < DAY) text = `${Math.round(abs / 3_600_000)} h`;
  else if (abs < 60 * DAY) {
    const days = Math.round(abs / DAY);
    text = `${days} day${days === 1 ? "" : "s"}`;
  } else if (abs < 730 * DAY) text = `${Math.round(abs / (30.44 * DAY))} months`;
  else text = `${(abs / (365.25 * DAY)).toFixed(1)} years`;
  return future ? `in ${text}` : `${text} ago`;
}

/** Colon-grouped upper-case hex, as certificate viewers print serials and fingerprints. */
export function formatHex(hex: string): string {
  return (hex.toUpperCase().match(/.{1,2}/g) ?? []).join(":");
}
