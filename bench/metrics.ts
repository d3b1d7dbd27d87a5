// The /metrics scrape against a seeded fleet (bench/run.ts calls it after seeding the inventory):
// HTTP time of a full scrape with a metrics token, and the server's own fleet-query time that the
// scrape reports (certfleet_metrics_fleet_query_seconds). Target: under 500 ms at 1,000,000 devices
// on PostgreSQL.
import type { TestServer } from "../tests/helpers/server";
import { SYSTEM_ACTOR } from "../lib/auth/roles";
import { createApiToken } from "../lib/services/tokens";
import { timings } from "./load";

export interface MetricsScrapeResult {
  p50: number;
  p95: number;
  /** Median of the server-reported fleet query time, ms. */
  fleetQueryMs: number;
  bytes: number;
}

export async function measureMetricsScrape(server: TestServer, samples: number): Promise<MetricsScrapeResult> {
  const token = (await createApiToken(SYSTEM_ACTOR, { name: `bench-metrics-${Date.now()}`, role: "metrics" })).token;
  const queryMs: number[] = [];
  let bytes = 0;
  const t = await timings(samples, async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`/metrics ${res.status}: ${text.slice(0, 200)}`);
    bytes = text.length;
    const m = /^certfleet_metrics_fleet_query_seconds (\S+)$/m.exec(text);
    if (m) queryMs.push(Number(m[1]) * 1000);
  });
  queryMs.sort((a, b) => a - b);
  return { p50: t.p50, p95: t.p95, fleetQueryMs: queryMs[Math.floor(queryMs.length / 2)] ?? NaN, bytes };
}
