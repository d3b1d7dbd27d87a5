// GET /metrics: Prometheus text exposition (lib/services/metrics.ts). On the main ports it needs a
// bearer token with metrics:read (roles metrics, broker, admin); CERTFLEET_METRICS_ADDR opens an
// extra listener that serves it without one, for a scraper on a private network.
import http from "node:http";
import { AppError } from "../errors";
import { toAppError } from "../error-mapping";
import { config } from "../config";
import { METRICS_CONTENT_TYPE, metricsText } from "../services/metrics";
import { bearerActor, sendProblem } from "./problem";
import type { BrokerHandler } from "./types";

export const METRICS_PATH = "/metrics";

async function serveMetrics(req: http.IncomingMessage, res: http.ServerResponse, url: URL, authenticate: boolean) {
  try {
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendProblem(res, url.pathname, new AppError("BAD_REQUEST", "Use GET or HEAD"), 405, "Method not allowed", { allow: "GET, HEAD" });
      return;
    }
    if (authenticate) await bearerActor(req, "metrics:read", "a metrics, broker or admin API token");
    const body = Buffer.from(await metricsText(config().metricsTags));
    res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store", "content-length": String(body.length) });
    res.end(req.method === "HEAD" ? undefined : body);
  } catch (e) {
    const err = toAppError(e);
    if (!res.headersSent) sendProblem(res, url.pathname, err);
    else res.destroy();
  }
}

export const metricsHandler: BrokerHandler = (req, res, url) => serveMetrics(req, res, url, true);

/**
 * Opens the CERTFLEET_METRICS_ADDR listener when configured (GET /metrics only, no token).
 * Resolves once it listens; the returned function closes it.
 */
export async function startMetricsListener(log: (line: string) => void = console.log): Promise<() => void> {
  const addr = config().metricsAddr;
  if (!addr) return () => undefined;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    res.setHeader("x-content-type-options", "nosniff");
    if (url.pathname !== METRICS_PATH) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Only /metrics is served here\n");
      return;
    }
    void serveMetrics(req, res, url, false);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(addr.port, addr.host, resolve);
  });
  log(`[certfleet] metrics on http://${addr.host.includes(":") ? `[${addr.host}]` : addr.host}:${addr.port}${METRICS_PATH}  (no token: CERTFLEET_METRICS_ADDR)`);
  return () => server.close();
}
