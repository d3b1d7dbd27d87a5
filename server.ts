// CertFleet's process: one Node server for HTTP (PORT) and HTTPS (HTTPS_PORT). Broker endpoints
// (/pki/*: CRL, OCSP, CA certificates) are answered by plain handlers from pre-signed bytes in
// memory; everything else (pages, server actions, /api/v1) goes to Next's request handler.
//   npm start          production (builds first when no build exists)
//   npm run demo       same, plus a demo fleet
//   npm run dev        next dev
import http from "node:http";
import https from "node:https";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import next from "next";
import { config } from "./lib/config";
import { getAuthSecret } from "./lib/secrets";
import { bootstrap } from "./lib/bootstrap";
import { brokerRoute } from "./lib/http/router";
import { tagClientAddress } from "./lib/auth/client-ip";
import { appHeaders, arrivedOverHttps, BROKER_HEADERS } from "./lib/http/security-headers";
import { restrictNewFiles } from "./lib/data-files";
import { startRevocationState } from "./lib/services/revocation-state";
import { startBrokerSessions } from "./lib/services/broker-sessions";
import { ensureAllResponders } from "./lib/services/ocsp";
import { loadTlsIdentity, tlsNeedsRenewal, TLS_OPTIONS } from "./lib/services/tls";
import { startMetricsListener } from "./lib/http/metrics";
import { startAlertScheduler } from "./lib/services/notifications/alerts";

const args = new Set(process.argv.slice(2));
const dev = args.has("--dev");
const demo = args.has("--demo");

process.env.NEXT_TELEMETRY_DISABLED = "1";
// Before anything opens the database: see lib/data-files.ts.
const inheritedUmask = restrictNewFiles();

async function main() {
  const cfg = config();
  await bootstrap();
  // next-auth (and the proxy, which runs in this process) read the secret from the environment.
  process.env.AUTH_SECRET ??= getAuthSecret();
  process.env.NEXTAUTH_SECRET ??= process.env.AUTH_SECRET;
  // Sessions work on both the HTTP and the HTTPS port: derive the origin from the request.
  process.env.AUTH_TRUST_HOST ??= "true";
  process.env.NEXTAUTH_URL ??= cfg.publicUrl;

  if (demo) {
    const { seedDemoFleet } = await import("./prisma/seed");
    await seedDemoFleet();
  }

  if (!dev && !existsSync(path.join(process.cwd(), ".next", "BUILD_ID"))) {
    console.log("[certfleet] no production build found: running next build (about a minute)…");
    // The build output is no secret: it gets the umask the operator chose.
    process.umask(inheritedUmask);
    const built = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit", env: process.env });
    restrictNewFiles();
    if (built.status !== 0) throw new Error("next build failed");
  }

  const app = next({ dev, dir: process.cwd(), hostname: "localhost", port: cfg.port });
  await app.prepare();
  const handle = app.getRequestHandler();

  // Only fails when a responder must be renewed and the CA key cannot sign (token away): the broker
  // endpoints still start and serve what is stored.
  await ensureAllResponders().catch((e) => console.error("[certfleet] OCSP responder renewal failed:", e instanceof Error ? e.message : e));
  const stopRevocationState = startRevocationState();
  const stopMetricsListener = await startMetricsListener();
  const stopAlerts = startAlertScheduler();
  const stopBrokerSessions = startBrokerSessions();

  const headers = { http: appHeaders({ https: false, dev }), https: appHeaders({ https: true, dev }) };
  const onRequest: http.RequestListener = (req, res) => {
    tagClientAddress(req, cfg.trustedProxies);
    // Without a proxy we trust, nobody downstream may mistake a client's own claim for its address.
    if (!cfg.trustedProxies) req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "unknown";
    const url = new URL(req.url ?? "/", "http://localhost");
    const broker = brokerRoute(url.pathname);
    for (const [name, value] of broker ? BROKER_HEADERS : headers[arrivedOverHttps(req, cfg.trustedProxies) ? "https" : "http"]) res.setHeader(name, value);
    const handled = broker ? broker(req, res, url) : handle(req, res);
    handled.catch((e) => {
      console.error("[certfleet] request failed", e);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" }).end("Internal error\n");
      else res.destroy();
    });
  };

  const server = http.createServer(onRequest);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(cfg.port, cfg.host, resolve));
  console.log(`[certfleet] HTTP  on http://${cfg.host}:${cfg.port}  (public URL ${cfg.publicUrl})`);

  // The self-issued HTTPS certificate needs the CA key: while its token is away HTTPS waits (HTTP serves).
  let identity = await loadTlsIdentity().catch((e) => {
    console.error(`[certfleet] HTTPS not started (retrying every 30 s): ${e instanceof Error ? e.message : e}`);
    return null;
  });
  // EST (lib/http/est.ts) authenticates devices by their TLS client certificate. Asked for, never
  // required, and not verified by TLS: browsers, /api and /pki clients without one are unaffected,
  // and each EST route checks the certificate against the CAs that may vouch for it.
  const secure = https.createServer({ ...TLS_OPTIONS, ...(identity && { cert: identity.cert, key: identity.key }), requestCert: true, rejectUnauthorized: false }, onRequest);
  secure.keepAliveTimeout = 65_000;
  const listenHttps = async (id: NonNullable<typeof identity>) => {
    await new Promise<void>((resolve) => secure.listen(cfg.httpsPort, cfg.host, resolve));
    console.log(`[certfleet] HTTPS on https://${cfg.host}:${cfg.httpsPort}  (${id.source === "files" ? "TLS_CERT_FILE" : `certificate from the own CA for ${cfg.tlsHosts.join(", ")}`})`);
  };
  if (identity) await listenHttps(identity);
  else {
    const retry = setInterval(async () => {
      const id = await loadTlsIdentity().catch(() => null);
      if (!id || identity) return;
      identity = id;
      clearInterval(retry);
      secure.setSecureContext({ ...TLS_OPTIONS, cert: id.cert, key: id.key });
      await listenHttps(id);
    }, 30_000);
    retry.unref();
  }
  const renewal = setInterval(async () => {
    try {
      await ensureAllResponders();
      if (identity && tlsNeedsRenewal(identity)) {
        identity = await loadTlsIdentity();
        secure.setSecureContext({ ...TLS_OPTIONS, cert: identity.cert, key: identity.key });
        console.log(`[certfleet] renewed the HTTPS certificate (valid until ${identity.notAfter?.toISOString()})`);
      }
    } catch (e) {
      console.error("[certfleet] periodic renewal failed:", e instanceof Error ? e.message : e);
    }
  }, 6 * 3_600_000);
  renewal.unref();

  const shutdown = () => {
    stopRevocationState();
    stopAlerts();
    stopMetricsListener();
    stopBrokerSessions();
    server.close();
    secure.close();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((e) => {
  console.error("[certfleet] failed to start:", e instanceof Error ? e.message : e);
  process.exit(1);
});
