// What every serving process runs (the single process, or each cluster worker): Next's handler
// for pages, server actions and /api/v1, the broker endpoints and EST before it (lib/http), on
// the HTTP and HTTPS ports, plus the revocation-state poller that keeps this process's CRL and
// OCSP caches current. The HTTPS identity comes from the primary (lib/server/jobs.ts), so N
// workers serve one certificate instead of issuing N.
import http from "node:http";
import https from "node:https";
import next from "next";
import { config } from "../config";
import { brokerRoute, serveCachedOcsp } from "../http/router";
import { tagClientAddress } from "../auth/client-ip";
import { appHeaders, arrivedOverHttps, BROKER_HEADERS } from "../http/security-headers";
import { startRevocationState } from "../services/revocation-state";
import { startBrokerSessions } from "../services/broker-sessions";
import { joinClusterMetrics } from "./metrics-bridge";
import { TLS_OPTIONS, type TlsIdentity } from "../services/tls";
import { askPrimary, onPrimaryCast, TOPICS } from "../ipc";

export interface RunningApp {
  /** The HTTPS port is open (false while the CA key that must sign its certificate is away). */
  httpsListening(): boolean;
  /** Stops taking connections, lets the requests in flight finish, then resolves. */
  drain(): Promise<void>;
}

/** Listens, or rejects (a port in use): Next's uncaughtException handler would only log the error. */
function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

export async function startApp(options: { dev: boolean; announce: (line: string) => void }): Promise<RunningApp> {
  const cfg = config();
  const app = next({ dev: options.dev, dir: process.cwd(), hostname: "localhost", port: cfg.port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const stopRevocationState = startRevocationState();
  // Closes brokers' live sessions on the access events this process's revocations and device changes emit.
  const stopBrokerSessions = startBrokerSessions();
  joinClusterMetrics();

  let draining = false;
  const headers = { http: appHeaders({ https: false, dev: options.dev }), https: appHeaders({ https: true, dev: options.dev }) };
  const onRequest: http.RequestListener = (req, res) => {
    // The nonce-less OCSP repeat brokers send most, answered from memory before anything else.
    if (!draining && serveCachedOcsp(req, res)) return;
    tagClientAddress(req, cfg.trustedProxies);
    // Without a proxy we trust, nobody downstream may mistake a client's own claim for its address.
    if (!cfg.trustedProxies) req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "unknown";
    const url = new URL(req.url ?? "/", "http://localhost");
    const broker = brokerRoute(url.pathname);
    for (const [name, value] of broker ? BROKER_HEADERS : headers[arrivedOverHttps(req, cfg.trustedProxies) ? "https" : "http"]) res.setHeader(name, value);
    // While draining, a keep-alive client is told to go elsewhere (another worker, or the restarted server).
    if (draining) res.setHeader("connection", "close");
    const handled = broker ? broker(req, res, url) : handle(req, res);
    handled.catch((e) => {
      console.error("[certfleet] request failed", e);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" }).end("Internal error\n");
      else res.destroy();
    });
  };

  const server = http.createServer(onRequest);
  server.keepAliveTimeout = 65_000;
  await listen(server, cfg.port, cfg.host);
  options.announce(`[certfleet] HTTP  on http://${cfg.host}:${cfg.port}  (public URL ${cfg.publicUrl})`);

  // EST (lib/http/est.ts) authenticates devices by their TLS client certificate. Asked for, never
  // required, and not verified by TLS: browsers, /api and /pki clients without one are unaffected,
  // and each EST route checks the certificate against the CAs that may vouch for it.
  let identity = await askPrimary<TlsIdentity | null>(TOPICS.tlsIdentity);
  const secure = https.createServer({ ...TLS_OPTIONS, ...(identity && { cert: identity.cert, key: identity.key }), requestCert: true, rejectUnauthorized: false }, onRequest);
  secure.keepAliveTimeout = 65_000;
  let secureListening = false;
  const listenHttps = async (id: TlsIdentity) => {
    await listen(secure, cfg.httpsPort, cfg.host);
    secureListening = true;
    options.announce(`[certfleet] HTTPS on https://${cfg.host}:${cfg.httpsPort}  (${id.source === "files" ? "TLS_CERT_FILE" : `certificate from the own CA for ${cfg.tlsHosts.join(", ")}`})`);
  };
  if (identity) await listenHttps(identity);
  // The first identity (the CA key was away at start) or a renewed one.
  const stopTls = onPrimaryCast(TOPICS.tlsIdentity, (payload) => {
    const id = payload as TlsIdentity;
    if (draining) return;
    secure.setSecureContext({ ...TLS_OPTIONS, cert: id.cert, key: id.key });
    if (!identity) listenHttps(id).catch((e) => console.error(`[certfleet] HTTPS not started: ${e instanceof Error ? e.message : e}`));
    identity = id;
  });

  let drained: Promise<void> | undefined;
  return {
    httpsListening: () => secureListening,
    drain: () =>
      (drained ??= (async () => {
        draining = true;
        stopTls();
        stopRevocationState();
        stopBrokerSessions();
        const closed = [server, ...(secureListening ? [secure] : [])].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
        // close() waits for every connection to end; idle keep-alive connections are closed now and
        // as each in-flight request finishes (its answer said "connection: close").
        const sweep = setInterval(() => {
          server.closeIdleConnections();
          secure.closeIdleConnections();
        }, 50);
        server.closeIdleConnections();
        secure.closeIdleConnections();
        try {
          await Promise.all(closed);
        } finally {
          clearInterval(sweep);
        }
      })()),
  };
}
