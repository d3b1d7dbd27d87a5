// What runs once per server, before and beside the serving processes: the one-time preparation
// (bootstrap and migrations, the demo fleet, a missing production build) and the jobs that must
// not run in every worker — OCSP responder renewal and the self-issued HTTPS identity (issue,
// retry while the CA key is away, renew). With CERTFLEET_WORKERS=1 all of it runs in the one
// process, as before; with more, in the cluster's primary, which hands the HTTPS identity to
// its workers (lib/server/ipc.ts) so none of them races another to issue a server certificate.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { config } from "../config";
import { getAuthSecret } from "../secrets";
import { bootstrap } from "../bootstrap";
import { restrictNewFiles } from "../data-files";
import { ensureAllResponders } from "../services/ocsp";
import { loadTlsIdentity, tlsNeedsRenewal, type TlsIdentity } from "../services/tls";
import { answerWorkers, castToWorkers, TOPICS } from "../ipc";
import { serveSharedThrottles } from "../auth/rate-limit";
import { startMetricsListener } from "../http/metrics";
import { startAlertScheduler } from "../services/notifications/alerts";

const TLS_RETRY_MS = 30_000;
const RENEWAL_MS = 6 * 3_600_000;

/** Bootstrap, demo fleet, production build: done before anything serves (and before workers fork). */
export async function prepareServer(options: { dev: boolean; demo: boolean; inheritedUmask: number }): Promise<void> {
  const cfg = config();
  await bootstrap();
  // next-auth (and the proxy, which runs in the serving process) read the secret from the
  // environment; workers inherit it.
  process.env.AUTH_SECRET ??= getAuthSecret();
  process.env.NEXTAUTH_SECRET ??= process.env.AUTH_SECRET;
  // Sessions work on both the HTTP and the HTTPS port: derive the origin from the request.
  process.env.AUTH_TRUST_HOST ??= "true";
  process.env.NEXTAUTH_URL ??= cfg.publicUrl;

  if (options.demo) {
    const { seedDemoFleet } = await import("../../prisma/seed");
    await seedDemoFleet();
  }

  if (!options.dev && !existsSync(path.join(process.cwd(), ".next", "BUILD_ID"))) {
    console.log("[certfleet] no production build found: running next build (about a minute)…");
    // The build output is no secret: it gets the umask the operator chose.
    process.umask(options.inheritedUmask);
    const built = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit", env: process.env });
    restrictNewFiles();
    if (built.status !== 0) throw new Error("next build failed");
  }
}

/**
 * Starts the once-per-server jobs and the answers the serving processes ask for (HTTPS identity,
 * shared login and EST-secret throttles). Resolves once the HTTPS identity is known or known to
 * be unavailable for now; returns a stop function.
 */
export async function startServerJobs(): Promise<() => void> {
  serveSharedThrottles();
  // Alert rules are evaluated by one process per server (the database makes each alert fire once
  // across servers too); /metrics on CERTFLEET_METRICS_ADDR is answered here, summed over workers.
  const stopAlerts = startAlertScheduler();
  const stopMetricsListener = await startMetricsListener();
  // Only fails when a responder must be renewed and the CA key cannot sign (token away): the broker
  // endpoints still start and serve what is stored.
  await ensureAllResponders().catch((e) => console.error("[certfleet] OCSP responder renewal failed:", e instanceof Error ? e.message : e));

  // The self-issued HTTPS certificate needs the CA key: while its token is away HTTPS waits (HTTP serves).
  let identity: TlsIdentity | null = await loadTlsIdentity().catch((e) => {
    console.error(`[certfleet] HTTPS not started (retrying every ${TLS_RETRY_MS / 1000} s): ${e instanceof Error ? e.message : e}`);
    return null;
  });
  answerWorkers(TOPICS.tlsIdentity, () => identity);

  const retry = setInterval(async () => {
    if (identity) return clearInterval(retry);
    const id = await loadTlsIdentity().catch(() => null);
    if (!id || identity) return;
    identity = id;
    clearInterval(retry);
    castToWorkers(TOPICS.tlsIdentity, id);
  }, TLS_RETRY_MS);
  retry.unref();

  const renewal = setInterval(async () => {
    try {
      await ensureAllResponders();
      if (identity && tlsNeedsRenewal(identity)) {
        identity = await loadTlsIdentity();
        castToWorkers(TOPICS.tlsIdentity, identity);
        console.log(`[certfleet] renewed the HTTPS certificate (valid until ${identity.notAfter?.toISOString()})`);
      }
    } catch (e) {
      console.error("[certfleet] periodic renewal failed:", e instanceof Error ? e.message : e);
    }
  }, RENEWAL_MS);
  renewal.unref();

  return () => {
    clearInterval(retry);
    clearInterval(renewal);
    stopAlerts();
    stopMetricsListener();
  };
}
