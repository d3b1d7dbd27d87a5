// "30s", "5m", "1h", "250ms" or plain seconds → milliseconds (for --interval).
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration (e.g. 30s, 5m, 1h)`);
  const ms = Math.round(Number(m[1]) * UNITS[m[2] ?? "s"]);
  if (!(ms > 0)) throw new Error(`duration "${text}" must be greater than zero`);
  return ms;
}
