// Sequential timings of page and API calls (the inventory lines); HTTP load is wrk's (bench/wrk.ts).
/** p50/p95 of sequential timings (ms) of an async call, after a short warm-up (first renders, caches). */
export async function timings(n: number, fn: () => Promise<void>, warmup = 3): Promise<{ p50: number; p95: number; samples: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p95: at(0.95), samples };
}
