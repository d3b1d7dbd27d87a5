// Conditional GET (ETag / If-None-Match) over HTTP or HTTPS for broker-sync, on node:http(s) so
// a private CA bundle can be trusted for HTTPS without touching the process-wide trust store.
import http from "node:http";
import https from "node:https";

export interface FetchOptions {
  /** ETag of the copy we hold; sent as If-None-Match. */
  etag?: string;
  /** Sent as `Authorization: Bearer …`. Never logged, never put in an error message. */
  token?: string;
  /** PEM CA bundle to trust for HTTPS (replaces the default trust store, like curl --cacert). */
  ca?: string | Buffer;
  timeoutMs?: number;
  /** Refuse bodies larger than this (a runaway or hostile server must not exhaust memory). */
  maxBytes?: number;
}

export type FetchResult =
  | { status: 200; body: Buffer; etag?: string }
  | { status: 304 }
  | { status: 404 };

export class FetchError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "FetchError";
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
// A CRL for a million revoked certificates is ~40 MB of PEM; leave room, but stay bounded.
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** The URL as it may be shown to a human: no userinfo, no query string (could hold credentials). */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export function fetchConditional(url: URL, options: FetchOptions = {}): Promise<FetchResult> {
  const shown = displayUrl(url);
  const isHttps = url.protocol === "https:";
  if (!isHttps && url.protocol !== "http:") return Promise.reject(new FetchError(`${shown}: only http and https URLs are supported`));
  const headers: Record<string, string> = { "user-agent": "certfleet-broker-sync", accept: "*/*" };
  if (options.etag) headers["if-none-match"] = options.etag;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;

  return new Promise<FetchResult>((resolve, reject) => {
    const requestOptions: https.RequestOptions = { method: "GET", headers, timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS };
    if (isHttps && options.ca) requestOptions.ca = options.ca;
    const req = (isHttps ? https : http).request(url, requestOptions, (res) => {
      const status = res.statusCode ?? 0;
      if (status === 304 || status === 404) {
        res.resume();
        resolve({ status });
        return;
      }
      if (status !== 200) {
        // A short, sanitised excerpt helps ("invalid token", "forbidden"); the body never holds
        // our token, but cap it so a large HTML error page does not flood the log.
        collect(res, 4096)
          .then((body) => {
            const excerpt = body.toString("utf8").replace(/\s+/g, " ").replace(/[^\x20-\x7e]/g, "?").trim().slice(0, 200);
            const hint = status === 401 || status === 403 ? " (check the broker token and its role)" : "";
            reject(new FetchError(`${shown}: HTTP ${status}${hint}${excerpt ? `: ${excerpt}` : ""}`, status));
          })
          .catch(() => reject(new FetchError(`${shown}: HTTP ${status}`, status)));
        return;
      }
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.destroy();
        reject(new FetchError(`${shown}: response of ${declared} bytes exceeds the ${maxBytes}-byte limit`));
        return;
      }
      collect(res, maxBytes)
        .then((body) => {
          const etag = res.headers.etag;
          resolve({ status: 200, body, etag: typeof etag === "string" && etag ? etag : undefined });
        })
        .catch((e: Error) => reject(new FetchError(`${shown}: ${e.message}`)));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${requestOptions.timeout} ms`)));
    req.on("error", (e: NodeJS.ErrnoException) => {
      const detail = e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
      const hint = isHttps && /certificate|self.signed|UNABLE_TO|CERT_/i.test(detail) ? " (is --ca-file the CA bundle of this server?)" : "";
      reject(new FetchError(`${shown}: ${detail}${hint}`));
    });
    req.end();
  });
}

function collect(res: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        reject(new Error(`response exceeds the ${maxBytes}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    res.on("end", () => {
      if (!res.complete) reject(new Error("connection closed before the response was complete"));
      else resolve(Buffer.concat(chunks));
    });
    res.on("aborted", () => reject(new Error("connection closed before the response was complete")));
    res.on("error", reject);
  });
}
