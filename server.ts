// CertFleet's server: HTTP (PORT) and HTTPS (HTTPS_PORT). Broker endpoints (/pki/*: CRL, OCSP, CA
// certificates) and EST are answered by plain handlers from pre-signed bytes in memory; everything
// else (pages, server actions, /api/v1) goes to Next's request handler.
//   npm start          production (builds first when no build exists)
//   npm run demo       same, plus a demo fleet
//   npm run dev        next dev (always one process)
//
// CERTFLEET_WORKERS=1: one process does everything. More (the default is one per core): this
// process is the primary — it does the one-time work and the once-per-server jobs
// (lib/server/jobs.ts), then forks the workers (lib/server/cluster.ts), each of which serves on
// the shared ports (lib/server/app.ts). README "Architecture" has the picture.
//
// Where a new piece goes: a background job that must run once per server (renewals, alerts,
// anything that writes on a timer) starts in startServerJobs (lib/server/jobs.ts), which runs in
// the primary or the single process; something every serving process needs (a cache that follows
// the database) starts in startApp (lib/server/app.ts).
import cluster from "node:cluster";
import { config } from "./lib/config";
import { restrictNewFiles } from "./lib/data-files";
import { disconnectDb } from "./lib/db";
import { prepareServer, startServerJobs } from "./lib/server/jobs";
import { startCluster, DRAIN_DEADLINE_MS } from "./lib/server/cluster";
import { askPrimary, TOPICS } from "./lib/ipc";
import { serveClusterMetrics } from "./lib/server/metrics-bridge";

const args = new Set(process.argv.slice(2));
const dev = args.has("--dev");
const demo = args.has("--demo");

process.env.NEXT_TELEMETRY_DISABLED = "1";
// Before anything opens the database: see lib/data-files.ts.
const inheritedUmask = restrictNewFiles();

/** SIGTERM/SIGINT run `stop` once, then exit; a second signal while it runs is ignored. */
function onShutdown(stop: () => Promise<void>) {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    stop()
      .catch((e) => console.error("[certfleet] shutdown:", e instanceof Error ? e.message : e))
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/** A serving process: the single process's app, or one worker's. */
async function serve(announce: (line: string) => void) {
  const { startApp } = await import("./lib/server/app");
  const app = await startApp({ dev, announce });
  return app;
}

async function main() {
  if (cluster.isWorker) {
    const app = await serve(() => undefined);
    onShutdown(async () => {
      // A worker that cannot finish its requests in time is killed by the primary.
      await app.drain();
      await disconnectDb();
    });
    await askPrimary(TOPICS.workerReady, { pid: process.pid, https: app.httpsListening() });
    return;
  }

  const workers = dev ? 1 : config().workers;
  await prepareServer({ dev, demo, inheritedUmask });
  const stopJobs = await startServerJobs();

  if (workers === 1) {
    const app = await serve(console.log);
    onShutdown(async () => {
      const deadline = setTimeout(() => process.exit(0), DRAIN_DEADLINE_MS);
      deadline.unref();
      stopJobs();
      await app.drain();
      await disconnectDb();
    });
    return;
  }

  // The primary serves nothing itself; its database connection is for the jobs.
  serveClusterMetrics();
  const primary = startCluster({ workers, log: console.log });
  onShutdown(async () => {
    stopJobs();
    await primary.stop();
    await disconnectDb();
  });
  const reports = await primary.ready.catch(async (e) => {
    stopJobs();
    await primary.stop();
    throw e;
  });
  const cfg = config();
  console.log(`[certfleet] HTTP  on http://${cfg.host}:${cfg.port}  (public URL ${cfg.publicUrl}; ${workers} workers)`);
  if (reports.every((r) => r.https)) console.log(`[certfleet] HTTPS on https://${cfg.host}:${cfg.httpsPort}  (${workers} workers)`);
}

main().catch((e) => {
  console.error("[certfleet] failed to start:", e instanceof Error ? e.message : e);
  process.exit(1);
});
