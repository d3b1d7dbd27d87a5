// EST (RFC 7030) at /.well-known/est/[{ca-slug}/]{cacerts|simpleenroll|simplereenroll|serverkeygen|csrattrs},
// answered by the custom server on the HTTPS port. The port requests a client certificate without
// requiring one; this handler decides per route what the certificate (or HTTP Basic) may do.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { AppError } from "../errors";
import { randomBytes } from "node:crypto";
import { estBase64, csrAttributes, serverKeygenBody } from "../pki/est";
import { estCaCerts, estEnroll, estReenroll, estServerKeygen, type EstCredentials } from "../services/est";
import { CLIENT_IP_HEADER } from "../auth/client-ip";
import type { BrokerHandler } from "./types";

export const EST_PREFIX = "/.well-known/est/";
/** A CSR is at most 64 KiB (lib/pki/csr.ts); its base64 with line breaks fits well under this. */
export const EST_MAX_BODY = 128 * 1024;

const PATH = /^\/\.well-known\/est\/(?:([a-z0-9-]+)\/)?(cacerts|simpleenroll|simplereenroll|csrattrs|serverkeygen|fullcmc)$/;

const CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only";

function text(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers }).end(`${message}\n`);
}

/** base64 DER body, as RFC 7030 4.1.3 / 4.2.3 want it (RFC 8951: no Content-Transfer-Encoding needed, sent for older clients). */
function sendBase64(res: ServerResponse, contentType: string, der: Uint8Array) {
  const body = estBase64(der);
  res.writeHead(200, { "content-type": contentType, "content-transfer-encoding": "base64", "content-length": String(Buffer.byteLength(body)), "cache-control": "no-store" }).end(body);
}

/** RFC 7030 4.4.2: the generated key and its certificate; the key leaves memory with the answer. */
function sendServerKeygen(res: ServerResponse, issued: { cms: Uint8Array; privateKeyPkcs8?: Uint8Array }) {
  const pkcs8 = issued.privateKeyPkcs8!;
  const boundary = `est-${randomBytes(12).toString("hex")}`;
  const body = serverKeygenBody(pkcs8, issued.cms, boundary);
  pkcs8.fill(0);
  res.writeHead(200, { "content-type": `multipart/mixed; boundary=${boundary}`, "content-length": String(Buffer.byteLength(body)), "cache-control": "no-store" }).end(body);
}

class TooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw new TooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new TooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function basicCredentials(header: string | undefined): EstCredentials["basic"] | "malformed" | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return "malformed";
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return "malformed";
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function clientCertificate(socket: TLSSocket): Uint8Array | undefined {
  // getPeerX509Certificate: only the DER is needed, not getPeerCertificate's decoded object.
  const peer = socket.getPeerX509Certificate();
  return peer ? new Uint8Array(peer.raw) : undefined;
}

const WWW_AUTHENTICATE = { "www-authenticate": 'Basic realm="certfleet-est", charset="UTF-8"' };

export const estHandler: BrokerHandler = async (req, res, url) => {
  const m = PATH.exec(url.pathname);
  if (!m) return text(res, 404, "Not found");
  const [, label, operation] = m;
  const socket = req.socket as TLSSocket;
  // RFC 7030 3.3: EST runs over TLS only (and the client certificate lives in the handshake).
  if (!socket.encrypted) return text(res, 403, "EST is served only over HTTPS");
  if (operation === "fullcmc") return text(res, 501, `${operation} is not supported`);
  const isGet = operation === "cacerts" || operation === "csrattrs";
  if (isGet ? req.method !== "GET" && req.method !== "HEAD" : req.method !== "POST") {
    return text(res, 405, "Method not allowed", { allow: isGet ? "GET, HEAD" : "POST" });
  }
  try {
    if (operation === "cacerts") return sendBase64(res, "application/pkcs7-mime", await estCaCerts(label));
    if (operation === "csrattrs") return sendBase64(res, "application/csrattrs", csrAttributes());

    const basic = basicCredentials(req.headers.authorization);
    if (basic === "malformed") return text(res, 401, "Malformed Authorization header", WWW_AUTHENTICATE);
    const credentials: EstCredentials = {
      basic,
      clientCertificate: clientCertificate(socket),
      address: String(req.headers[CLIENT_IP_HEADER] ?? socket.remoteAddress ?? "unknown"),
    };
    // Ask for credentials before reading a body nobody may submit.
    if (!credentials.basic && !credentials.clientCertificate) {
      req.resume();
      return text(res, 401, "Authentication required: a one-time enrollment secret (HTTP Basic) or a client certificate", WWW_AUTHENTICATE);
    }
    const body = await readBody(req, EST_MAX_BODY);
    if (operation === "serverkeygen") return sendServerKeygen(res, await estServerKeygen(label, credentials, body));
    const issued = operation === "simpleenroll" ? await estEnroll(label, credentials, body) : await estReenroll(label, credentials, body);
    return sendBase64(res, CERTS_ONLY, issued.cms);
  } catch (e) {
    if (e instanceof TooLarge) {
      // Node discards the rest of the body after the answer, so the client reads the 413
      // instead of a connection reset in the middle of its upload.
      req.resume();
      return text(res, 413, `Request body over ${EST_MAX_BODY / 1024} KiB`);
    }
    if (e instanceof AppError && e.status < 500) {
      const headers: Record<string, string> = e.status === 401 ? WWW_AUTHENTICATE : {};
      const retry = (e as { retryAfterSeconds?: number }).retryAfterSeconds;
      if (retry) headers["retry-after"] = String(retry);
      return text(res, e.status, e.message, headers);
    }
    throw e;
  }
};
