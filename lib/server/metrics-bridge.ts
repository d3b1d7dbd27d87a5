// Process metrics of the whole server, whichever process a scrape reaches. Each worker counts on
// its own registry, and so does the primary (the alert scheduler and the responder renewals run
// there), so a scrape must sum them all: a worker's /metrics asks the primary (clusterMetrics),
// the primary asks every worker for its registry as JSON over the cluster channel, adds its own and
// sums them with prom-client's AggregatorRegistry.aggregate (counters and histograms add up). The
// fleet gauges are not here: the answering process reads them from the database once per scrape
// (lib/services/metrics.ts). With one process (CERTFLEET_WORKERS=1) nothing of this runs.
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from "prom-client";
import { answerWorkers, askPrimary, inClusterWorker, TOPICS } from "../ipc";
import { processMetrics, setProcessMetricsSource } from "../services/metrics";

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
const REQUEST = "certfleet:metrics-json";
const RESPONSE = "certfleet:metrics-json-reply";
const WORKER_TIMEOUT_MS = 3_000;

export interface MetricsText {
  contentType: string;
  body: string;
}

let nextId = 0;

/** One worker's registry as JSON, or null when it does not answer in time (it is dying or busy). */
function askWorker(worker: Worker): Promise<MetricsJson | null> {
  const id = nextId++;
  return new Promise((resolve) => {
    const onMessage = (m: { type?: string; id?: number; metrics?: MetricsJson }) => {
      if (m?.type !== RESPONSE || m.id !== id) return;
      finish(m.metrics ?? null);
    };
    const timer = setTimeout(() => finish(null), WORKER_TIMEOUT_MS);
    const finish = (value: MetricsJson | null) => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      resolve(value);
    };
    worker.on("message", onMessage);
    worker.send({ type: REQUEST, id });
  });
}

async function aggregate(): Promise<MetricsText> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
  const parts = (await Promise.all(workers.map(askWorker))).filter((p): p is MetricsJson => p !== null);
  parts.push(await processMetrics().registry.getMetricsAsJSON());
  const summed = AggregatorRegistry.aggregate(parts);
  return { contentType: summed.contentType, body: await summed.metrics() };
}

/** The primary: answers workers' scrapes and its own (CERTFLEET_METRICS_ADDR) with the sum. */
export function serveClusterMetrics(): void {
  if (!cluster.isPrimary) throw new Error("serveClusterMetrics belongs in the cluster's primary");
  answerWorkers(TOPICS.metrics, () => aggregate());
  setProcessMetricsSource(async () => (await aggregate()).body);
}

/** A worker: hands its registry to the primary on request, and scrapes through the primary. */
export function joinClusterMetrics(): void {
  if (!inClusterWorker()) return;
  process.on("message", (m: { type?: string; id?: number }) => {
    if (m?.type !== REQUEST) return;
    void processMetrics()
      .registry.getMetricsAsJSON()
      .then((metrics) => process.send?.({ type: RESPONSE, id: m.id, metrics }));
  });
  setProcessMetricsSource(async () => (await clusterMetrics())?.body ?? processMetrics().registry.metrics());
}

/**
 * Every process's metrics, summed by the primary; null outside a cluster worker (the caller serves
 * its own registry then). Rejects when the primary does not answer within `timeoutMs`.
 */
export async function clusterMetrics(timeoutMs = 5_000): Promise<MetricsText | null> {
  if (!inClusterWorker()) return null;
  return askPrimary<MetricsText>(TOPICS.metrics, undefined, timeoutMs);
}
