// Public broker endpoints under /pki: CRLs, OCSP and CA certificates. Plain Node handlers that
// answer from pre-signed bytes in memory; protocol-shaped (RFC 5280, RFC 6960/5019), not REST.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import { toPem } from "../pki";
import { getServedCrl, issuingCaIds } from "../services/crl";
import { caBundle, caChainPem, findCaBySlug } from "../services/cas";
import { answerOcsp, cachedOcspAnswer, type OcspAnswer } from "../services/ocsp";
import { countOcspAnswer, observeBrokerRequest } from "../services/metrics";
import { decodeOcspGetPath, ocspErrorResponse, OcspRequestError } from "../pki/ocsp";
import type { BrokerHandler } from "./types";
import { BROKER_HEADERS } from "./security-headers";

export const OCSP_MAX_BODY = 10 * 1024;

function etagOf(body: Uint8Array | string): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}

/** Sends bytes with validators; answers 304 when the client already has them. */
function sendCached(req: IncomingMessage, res: ServerResponse, body: Uint8Array | string, headers: Record<string, string>, etag = etagOf(body)) {
  const common = { etag, ...headers };
  if (req.headers["if-none-match"]?.split(/\s*,\s*/).includes(etag)) {
    res.writeHead(304, common).end();
    return;
  }
  res.writeHead(200, { ...common, "content-length": String(Buffer.byteLength(body)) });
  res.end(req.method === "HEAD" ? undefined : body);
}

function notFound(res: ServerResponse, what = "Not found") {
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end(`${what}\n`);
}

function methodNotAllowed(res: ServerResponse, allow: string) {
  res.writeHead(405, { allow, "content-type": "text/plain; charset=utf-8" }).end("Method not allowed\n");
}

/** Seconds until `until`, at least 0: caches must not keep an answer past its nextUpdate. */
function maxAge(until: Date) {
  return Math.max(0, Math.floor((until.getTime() - Date.now()) / 1000));
}

async function serveCrl(req: IncomingMessage, res: ServerResponse, slug: string, format: "der" | "pem") {
  const crl = await getServedCrl(slug);
  if (!crl) return notFound(res, "Unknown CA");
  const body = format === "der" ? crl.der : crl.pem;
  sendCached(
    req,
    res,
    body,
    {
      "content-type": format === "der" ? "application/pkix-crl" : "application/x-pem-file",
      "last-modified": crl.lastModified,
      expires: crl.nextUpdate.toUTCString(),
      "cache-control": `public, max-age=${Math.min(maxAge(crl.nextUpdate), 3600)}, no-transform, must-revalidate`,
    },
    format === "der" ? crl.etag : crl.etag.replace(/"$/, '.pem"'),
  );
}

async function serveAllCrls(req: IncomingMessage, res: ServerResponse) {
  const parts: Buffer[] = [];
  let soonest: Date | null = null;
  for (const ca of await issuingCaIds()) {
    const crl = await getServedCrl(ca.slug);
    if (!crl) continue;
    parts.push(crl.pem);
    if (!soonest || crl.nextUpdate < soonest) soonest = crl.nextUpdate;
  }
  const body = Buffer.concat(parts);
  sendCached(req, res, body, {
    "content-type": "application/x-pem-file",
    "cache-control": `public, max-age=${soonest ? Math.min(maxAge(soonest), 60) : 0}, must-revalidate`,
  });
}

async function chainPem(slug: string): Promise<string | null> {
  const ca = await findCaBySlug(slug);
  return ca ? caChainPem(ca) : null;
}

async function serveCa(req: IncomingMessage, res: ServerResponse, file: string) {
  const headers = { "cache-control": "public, max-age=300" };
  let m = /^([a-z0-9-]+)\.(cer|der|crt|pem)$/.exec(file);
  if (m) {
    const ca = await findCaBySlug(m[1]);
    if (!ca) return notFound(res, "Unknown CA");
    return m[2] === "pem"
      ? sendCached(req, res, toPem(ca.certificateDer, "CERTIFICATE"), { ...headers, "content-type": "application/x-pem-file" })
      : sendCached(req, res, Buffer.from(ca.certificateDer), { ...headers, "content-type": "application/pkix-cert" });
  }
  m = /^([a-z0-9-]+)\/chain\.pem$/.exec(file);
  if (m) {
    const pem = await chainPem(m[1]);
    return pem ? sendCached(req, res, pem, { ...headers, "content-type": "application/x-pem-file" }) : notFound(res, "Unknown CA");
  }
  notFound(res);
}

/**
 * Every CA certificate, issuing CAs first then roots: the cafile a broker needs. Retired CAs stay
 * while their certificates may still be in use; /pki/crls.pem covers the same issuing CAs.
 */
async function serveBundle(req: IncomingMessage, res: ServerResponse) {
  const { pem, etag } = await caBundle();
  sendCached(req, res, pem, { "content-type": "application/x-pem-file", "cache-control": "public, max-age=60" }, etag);
}

// OCSP responses are sent with flat header arrays built once: the handler answers tens of
// thousands of requests a second and per-request header objects and strings showed in profiles.
const OCSP_CONTENT_TYPE = "application/ocsp-response";
const OCSP_NO_CACHE = "no-cache, no-store";

/**
 * What a pre-produced answer is sent as, built on its first use: the POST headers (with the
 * broker endpoints' nosniff, so no setHeader merge per request) and the body as a latin1 string.
 * Node writes headers and a latin1 string body in one write(); a Buffer body costs a writev of two
 * buffers and its bookkeeping on every answer.
 */
interface WireForm {
  postHeaders: string[];
  body: string;
}
const wireForms = new WeakMap<OcspAnswer, WireForm>();

function wireForm(answer: OcspAnswer): WireForm {
  let w = wireForms.get(answer);
  if (!w) {
    const body = Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength).toString("latin1");
    w = { postHeaders: ["content-type", OCSP_CONTENT_TYPE, "content-length", String(answer.body.length), "cache-control", OCSP_NO_CACHE, ...BROKER_HEADERS.flat()], body };
    wireForms.set(answer, w);
  }
  return w;
}

/** RFC 5019 section 6 headers of one cacheable answer; max-age is recomputed once per second. */
interface GetCacheHeaders {
  second: number;
  headers: string[];
}
const getCacheHeaders = new WeakMap<OcspAnswer, GetCacheHeaders>();

function cacheableGetHeaders(answer: OcspAnswer & { cache: NonNullable<OcspAnswer["cache"]> }): string[] {
  const second = Math.floor(Date.now() / 1000);
  let entry = getCacheHeaders.get(answer);
  if (!entry) {
    entry = {
      second: NaN,
      headers: [
        "content-type", OCSP_CONTENT_TYPE,
        "content-length", String(answer.body.length),
        "cache-control", "",
        "last-modified", answer.cache.producedAt.toUTCString(),
        "expires", answer.cache.nextUpdate.toUTCString(),
        "etag", `"${createHash("sha1").update(answer.body).digest("hex")}"`,
        ...BROKER_HEADERS.flat(),
      ],
    };
    getCacheHeaders.set(answer, entry);
  }
  if (entry.second !== second) {
    // Let HTTP caches keep a pre-produced answer until its nextUpdate, never past it.
    entry.headers[5] = `public, max-age=${maxAge(answer.cache.nextUpdate)}, no-transform, must-revalidate`;
    entry.second = second;
  }
  return entry.headers;
}

function sendOcsp(res: ServerResponse, answer: OcspAnswer, method: string) {
  // A cacheable answer is sent again and again: its wire form is kept. A fresh one (nonce) is sent once.
  if (answer.cache) {
    const w = wireForm(answer);
    res.writeHead(200, method === "GET" ? cacheableGetHeaders(answer as OcspAnswer & { cache: NonNullable<OcspAnswer["cache"]> }) : w.postHeaders);
    res.end(w.body, "latin1");
    return;
  }
  res.writeHead(200, ["content-type", OCSP_CONTENT_TYPE, "content-length", String(answer.body.length), "cache-control", OCSP_NO_CACHE]);
  res.end(answer.body);
}

const OCSP_PREFIX = "/pki/ocsp/";

/**
 * The OCSP requests answered without a promise: a POST to /pki/ocsp/<slug>, or a GET, whose
 * answer is remembered (cachedOcspAnswer) — the nonce-less repeat that brokers send. Each promise
 * also runs the async_hooks that Next's AsyncLocalStorage installs, a measurable share of such a
 * request. Returns false (having done nothing) for every other request; a miss found only once the
 * body is in goes on to the full handler.
 */
export function serveCachedOcsp(req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url;
  if (url === undefined || !url.startsWith(OCSP_PREFIX) || url.includes("?")) return false;
  const rest = url.slice(OCSP_PREFIX.length);
  const slash = rest.indexOf("/");
  const started = process.hrtime.bigint();
  if (req.method === "GET" && slash > 0) {
    const hit = cachedOcspAnswer(rest.slice(0, slash), rest.slice(slash + 1));
    if (!hit) return false;
    for (const [name, value] of BROKER_HEADERS) res.setHeader(name, value);
    sendOcsp(res, hit, "GET");
    observeBrokerRequest("ocsp", "GET", 200, started);
    return true;
  }
  if (req.method !== "POST" || slash !== -1) return false;
  const declared = Number(req.headers["content-length"] ?? "NaN");
  if (!(declared > 0 && declared <= OCSP_MAX_BODY)) return false;
  let first: Buffer | null = null;
  let chunks: Buffer[] | null = null;
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (!first) first = chunk;
    else (chunks ??= [first]).push(chunk);
  });
  req.on("end", () => {
    const body = chunks ? Buffer.concat(chunks) : (first ?? Buffer.alloc(0));
    if (size > OCSP_MAX_BODY) {
      res.writeHead(413, { "content-type": "text/plain; charset=utf-8", connection: "close", ...Object.fromEntries(BROKER_HEADERS) }).end(`OCSP requests are limited to ${OCSP_MAX_BODY} bytes\n`);
      observeBrokerRequest("ocsp", "POST", 413, started);
      return;
    }
    const hit = cachedOcspAnswer(rest, body);
    if (hit) {
      sendOcsp(res, hit, "POST");
      observeBrokerRequest("ocsp", "POST", 200, started);
      return;
    }
    answerOcsp(rest, body).then(
      (answer) => {
        for (const [name, value] of BROKER_HEADERS) res.setHeader(name, value);
        sendOcsp(res, answer, "POST");
        observeBrokerRequest("ocsp", "POST", 200, started);
      },
      (e) => {
        console.error("[certfleet] OCSP request failed", e);
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" }).end("Internal error\n");
        else res.destroy();
        observeBrokerRequest("ocsp", "POST", 500, started);
      },
    );
  });
  return true;
}

/** An error answered here, before the OCSP service saw a request (counted for the metrics here too). */
function malformedAnswer(e?: unknown): OcspAnswer {
  const status = e instanceof OcspRequestError ? e.status : "malformedRequest";
  const answer = { body: ocspErrorResponse(status), status };
  countOcspAnswer(answer, "miss");
  return answer;
}

/** The request body, or null past `limit` bytes (declared or actual). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      req.resume();
      return resolve(null);
    }
    let first: Buffer | null = null;
    let chunks: Buffer[] | null = null;
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        resolve(null);
      } else if (!first) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    // A request body nearly always arrives in one chunk: no copy then.
    req.on("end", () => resolve(size > limit ? null : chunks ? Buffer.concat(chunks) : (first ?? Buffer.alloc(0))));
    req.on("error", reject);
  });
}

async function serveOcsp(req: IncomingMessage, res: ServerResponse, rest: string) {
  const slash = rest.indexOf("/");
  const slug = slash === -1 ? rest : rest.slice(0, slash);
  if (req.method === "POST" && slash === -1) {
    const body = await readBody(req, OCSP_MAX_BODY);
    if (!body) {
      res.writeHead(413, { "content-type": "text/plain; charset=utf-8", connection: "close", ...Object.fromEntries(BROKER_HEADERS) }).end(`OCSP requests are limited to ${OCSP_MAX_BODY} bytes\n`);
      return;
    }
    return sendOcsp(res, cachedOcspAnswer(slug, body) ?? (await answerOcsp(slug, body)), "POST");
  }
  if (req.method === "GET" && slash !== -1) {
    // Everything after "<slug>/" is the request: base64 may itself contain "/". A repeated GET is
    // answered by its raw path, before any decoding.
    const path = rest.slice(slash + 1);
    const hit = cachedOcspAnswer(slug, path);
    if (hit) return sendOcsp(res, hit, "GET");
    let der: Uint8Array;
    try {
      der = decodeOcspGetPath(path);
    } catch (e) {
      return sendOcsp(res, malformedAnswer(e), "GET");
    }
    if (der.length > OCSP_MAX_BODY) return sendOcsp(res, malformedAnswer(), "GET");
    return sendOcsp(res, await answerOcsp(slug, der, path), "GET");
  }
  if (req.method === "GET" && slash === -1) return sendOcsp(res, malformedAnswer(), "GET");
  methodNotAllowed(res, "GET, POST");
}

/** Dispatches /pki/* requests. */
export const pkiHandler: BrokerHandler = async (req, res, url) => {
  // The raw path: OCSP GET carries base64, whose "/" and "+" must not be normalised away.
  const url0 = req.url ?? "";
  const query = url0.indexOf("?");
  const raw = query === -1 ? url0 : url0.slice(0, query);
  const path = raw.slice("/pki/".length);
  if (path.startsWith("ocsp/")) return serveOcsp(req, res, path.slice("ocsp/".length));
  if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res, "GET, HEAD");
  let m = /^crl\/([a-z0-9-]+)\.(crl|pem)$/.exec(url.pathname.slice("/pki/".length));
  if (m) return serveCrl(req, res, m[1], m[2] === "crl" ? "der" : "pem");
  if (path === "crls.pem") return serveAllCrls(req, res);
  if (path === "chain.pem") return serveBundle(req, res);
  m = /^ca\/(.+)$/.exec(path);
  if (m) return serveCa(req, res, m[1]);
  notFound(res);
};
