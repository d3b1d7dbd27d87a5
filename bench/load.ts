// HTTP load with autocannon (npm), used the same way against CertFleet and its OpenSSL peer.
import autocannon from "autocannon";

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
}

export async function load(opts: {
  url: string;
  method?: "GET" | "POST";
  body?: Buffer;
  headers?: Record<string, string>;
  connections?: number;
  seconds: number;
  requests?: autocannon.Request[];
}): Promise<LoadResult> {
  const result = await autocannon({
    url: opts.url,
    method: opts.method ?? "GET",
    body: opts.body,
    headers: opts.headers,
    connections: opts.connections ?? 32,
    duration: opts.seconds,
    requests: opts.requests,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

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
