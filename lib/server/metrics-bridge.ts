// Metrics of the whole server from whichever worker a scrape reaches. Each worker keeps its own
// process counters; only the primary can gather them all (prom-client's
// AggregatorRegistry.clusterMetrics() asks every worker over the cluster channel). A worker's
// /metrics handler calls clusterMetrics() here, which asks the primary; the primary answers with
// the aggregation function it was given (serveClusterMetrics). With one process (CERTFLEET_WORKERS=1)
// there is nothing to aggregate: clusterMetrics() resolves null and the handler uses its own
// registry.
//
// Wiring with prom-client (the primary, e.g. in server.ts before startCluster):
//   import { AggregatorRegistry } from "prom-client";
//   const aggregator = new AggregatorRegistry();
//   serveClusterMetrics(async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }));
// and in every worker prom-client must be loaded (it answers the primary's requests itself).
import cluster from "node:cluster";
import { answerWorkers, askPrimary, inClusterWorker, TOPICS } from "../ipc";

export interface MetricsText {
  contentType: string;
  body: string;
}

/** The primary answers workers' scrapes with `aggregate` (called once per scrape). */
export function serveClusterMetrics(aggregate: () => Promise<MetricsText>): void {
  if (!cluster.isPrimary) throw new Error("serveClusterMetrics belongs in the cluster's primary");
  answerWorkers(TOPICS.metrics, () => aggregate());
}

/**
 * Every worker's process metrics, aggregated by the primary; null outside a cluster worker (the
 * caller serves its own registry then). Rejects when the primary has no aggregation or does not
 * answer within `timeoutMs`.
 */
export async function clusterMetrics(timeoutMs = 5_000): Promise<MetricsText | null> {
  if (!inClusterWorker()) return null;
  return askPrimary<MetricsText>(TOPICS.metrics, undefined, timeoutMs);
}
