// Which requests the custom server answers itself, before Next: the broker endpoints, the brokers'
// auth backend, EST and /metrics. Each is timed into certfleet_broker_http_request_duration_seconds.
import type { BrokerHandler } from "./types";
import { pkiHandler } from "./pki";
export { serveCachedOcsp } from "./pki";
import { pskFileHandler, PSK_FILE_PATH } from "./psk-file";
import { estHandler, EST_PREFIX } from "./est";
import { metricsHandler, METRICS_PATH } from "./metrics";
import { brokerAuthHandler, BROKER_AUTH_PREFIX } from "./broker-auth";
import { processMetrics } from "../services/metrics";

/** The endpoint label of a broker path (bounded: never the slug, the secret or the request itself). */
function endpointOf(pathname: string): string | null {
  if (pathname.startsWith("/pki/")) {
    if (pathname.startsWith("/pki/ocsp/")) return "ocsp";
    if (pathname.startsWith("/pki/crl") || pathname === "/pki/crls.pem") return "crl";
    return "ca";
  }
  if (pathname === PSK_FILE_PATH) return "psk-file";
  if (pathname.startsWith(EST_PREFIX)) return "est";
  if (pathname === METRICS_PATH) return "metrics";
  if (pathname.startsWith(BROKER_AUTH_PREFIX)) return "broker-auth";
  return null;
}

const HANDLERS: Record<string, BrokerHandler> = {
  ocsp: pkiHandler,
  crl: pkiHandler,
  ca: pkiHandler,
  "psk-file": pskFileHandler,
  est: estHandler,
  metrics: metricsHandler,
  "broker-auth": brokerAuthHandler,
};
const METHODS = new Set(["GET", "HEAD", "POST"]);

export function brokerRoute(pathname: string): BrokerHandler | null {
  const endpoint = endpointOf(pathname);
  if (!endpoint) return null;
  const handler = HANDLERS[endpoint];
  return (req, res, url) => {
    const end = processMetrics().brokerHttp.startTimer({ endpoint, method: METHODS.has(req.method ?? "") ? req.method : "other" });
    res.once("finish", () => end({ code: String(res.statusCode) }));
    return handler(req, res, url);
  };
}
