// OCSP responder (RFC 6960, RFC 5019 profile): delegated responder certificates per issuing CA,
// rotated well before they expire; nonce-less answers produced once and served from memory until
// half their validity has passed or the CA's revocationVersion moves (a local revocation marks the
// caches stale at once; a revocation on another instance is seen within half a second by the poll of
// lib/services/revocation-state.ts).
//
// The stale mark belongs to the event that set it: it is cleared only by a version read that
// started after that event (events are emitted after their commit, so such a read sees the new
// version). A poll whose query was already on its way when a revocation landed must not clear it,
// or the old "good" answers would be served again until the next poll.
import { db, transaction } from "../db";
import { config } from "../config";
import { getMasterKey } from "../secrets";
import { authorize, SYSTEM_ACTOR, type Actor } from "../auth/roles";
import { revocationEventCount } from "../events";
import type { RevocationSnapshot } from "../events";
import { appendAudit } from "./audit";
import { countOcspAnswer } from "./metrics";
import { caSigner, caUrls, type CaRecord } from "./cas";
import { exportPkcs8, exportSpki, generateKeyPair, issueCertificate, localSigner, openSecret, sealSecret, type Signer } from "../pki";
import { buildOcspResponse, issuerMatcher, ocspCacheKey, ocspErrorResponse, OcspRequestError, parseOcspRequest, type OcspCertId, type OcspCertStatus } from "../pki/ocsp";

const RESPONDER_DAYS = 30;
/** A responder certificate is replaced when less than this is left (a third of its life). */
const RESPONDER_ROTATE_MS = 10 * 86_400_000;
/** Validity of an OCSP answer (nextUpdate − thisUpdate); re-produced at half of it. */
const RESPONSE_VALIDITY_MS = 60 * 60_000;
const CACHE_LIMIT = 200_000;

interface Responder {
  id: string;
  certificateDer: Uint8Array;
  signer: Signer;
  notAfter: Date;
}

interface CaContext {
  caId: string;
  slug: string;
  version: number;
  /**
   * revocationEventCount() of the last local revocation event not yet matched by a version read
   * started after it; 0 when none. While set, no cache of this context is used.
   */
  staleMark: number;
  /** Moves whenever the caches are cleared or marked: work begun under an older epoch is not cached. */
  epoch: number;
  matches: ReturnType<typeof issuerMatcher>;
  responder: Responder;
  cache: Map<string, CachedAnswer>;
  /**
   * The same answers keyed by the raw request bytes (POST) and by the raw URL path (GET): a
   * nonce-less request for a certificate is byte-for-byte the same each time, so a repeat is
   * answered without decoding or parsing it.
   */
  raw: Map<string, CachedAnswer>;
  rawGet: Map<string, CachedAnswer>;
  /** Certificate status by serial as of `version` (fresh nonce answers still need no query). */
  statuses: Map<string, OcspCertStatus>;
}

interface CachedAnswer {
  /** Handed out as is on every hit (callers may key their own per-answer data on it). */
  answer: OcspAnswer;
  refreshAt: number;
}

export interface OcspAnswer {
  readonly body: Uint8Array;
  /** For the metrics: the certificate status (good | revoked | unknown | multiple) or the error response status. */
  readonly status?: string;
  /** Present for successful, nonce-less answers that HTTP caches may keep until nextUpdate. */
  readonly cache?: { readonly producedAt: Date; readonly nextUpdate: Date };
}

/** Longest GET path kept as a cache key (a one-CertID request is ~100-300 characters). */
const RAW_GET_KEY_MAX = 512;
/** Longest POST body kept as a cache key. */
const RAW_POST_KEY_MAX = 512;

interface OcspState {
  contexts: Map<string, Promise<CaContext | null>>;
  /** The same contexts once loaded, for the synchronous fast path. */
  ready: Map<string, CaContext>;
}
const g = globalThis as unknown as { __certfleetOcspState?: OcspState };
const state: OcspState = (g.__certfleetOcspState ??= { contexts: new Map(), ready: new Map() });

const sealContext = (caSlug: string, responderSerial: string) => `ocsp-key:${caSlug}:${responderSerial}`;

/** The CA's current responder; issues a new one when none is active or the current one nears expiry. */
export async function ensureResponder(ca: CaRecord): Promise<Responder> {
  const now = Date.now();
  const current = await db().ocspResponder.findFirst({ where: { caId: ca.id, status: "active" }, orderBy: { notAfter: "desc" } });
  const loadCurrent = async (row: NonNullable<typeof current>) => {
    const pkcs8 = openSecret(getMasterKey(), row.sealedKey, sealContext(ca.slug, row.serialHex));
    return { id: row.id, certificateDer: row.certificateDer, signer: await localSigner("EC-P256", pkcs8), notAfter: row.notAfter };
  };
  if (current && current.notAfter.getTime() - now > RESPONDER_ROTATE_MS) return loadCurrent(current);
  const pair = await generateKeyPair("EC-P256");
  let issued;
  try {
    issued = await issueCertificate({
      issuer: { certificate: ca.certificateDer, signer: await caSigner(ca) },
      profile: "ocsp-responder",
      subject: { commonName: `${ca.name} OCSP Responder`, organization: config().caOrganization },
      publicKey: await exportSpki(pair.publicKey),
      validityDays: RESPONDER_DAYS,
      urls: caUrls(ca.slug),
    });
  } catch (e) {
    // The CA key cannot sign now (its token is away): answers go on under the current responder
    // while it is valid; the next renewal run tries again.
    if (current && current.notAfter.getTime() > now) return loadCurrent(current);
    throw e;
  }
  const pkcs8 = await exportPkcs8(pair.privateKey);
  const row = await transaction(async (tx) => {
    const created = await tx.ocspResponder.create({
      data: { caId: ca.id, serialHex: issued.serialHex, notBefore: issued.notBefore, notAfter: issued.notAfter, certificateDer: new Uint8Array(issued.der), sealedKey: sealSecret(getMasterKey(), pkcs8, sealContext(ca.slug, issued.serialHex)) },
    });
    await tx.ocspResponder.updateMany({ where: { caId: ca.id, status: "active", id: { not: created.id } }, data: { status: "retired" } });
    await appendAudit(tx, SYSTEM_ACTOR, { action: "ocsp.responder-issued", targetType: "ca", targetId: ca.id, details: { serial: issued.serialHex, notAfter: issued.notAfter } });
    return created;
  });
  const signer = await localSigner("EC-P256", pkcs8);
  pkcs8.fill(0);
  return { id: row.id, certificateDer: row.certificateDer, signer, notAfter: row.notAfter };
}

async function loadContext(slug: string): Promise<CaContext | null> {
  const eventsBefore = revocationEventCount();
  const ca = await db().certificateAuthority.findUnique({ where: { slug } });
  if (!ca || ca.kind !== "issuing") return null;
  const ctx: CaContext = { caId: ca.id, slug, version: ca.revocationVersion, staleMark: 0, epoch: 0, matches: issuerMatcher(ca.certificateDer), responder: await ensureResponder(ca), cache: new Map(), raw: new Map(), rawGet: new Map(), statuses: new Map() };
  // An event while loading found no context to mark: re-read the version before trusting this one.
  if (revocationEventCount() !== eventsBefore) ctx.staleMark = revocationEventCount();
  state.ready.set(slug, ctx);
  return ctx;
}

function context(slug: string): Promise<CaContext | null> {
  let ctx = state.contexts.get(slug);
  if (!ctx) {
    ctx = loadContext(slug);
    state.contexts.set(slug, ctx);
    ctx.then(
      (c) => {
        if (!c) state.contexts.delete(slug);
      },
      () => state.contexts.delete(slug),
    );
  }
  return ctx;
}

function clearCaches(ctx: CaContext) {
  ctx.cache.clear();
  ctx.raw.clear();
  ctx.rawGet.clear();
  ctx.statuses.clear();
  ctx.epoch++;
}

/**
 * Applies a revocationVersion read that started when revocationEventCount() was `eventsBefore`.
 * Versions only grow, so an older read than one already applied changes nothing.
 */
function applyVersion(ctx: CaContext, version: number, eventsBefore: number) {
  if (version > ctx.version) {
    clearCaches(ctx);
    ctx.version = version;
  }
  if (ctx.staleMark !== 0 && ctx.staleMark <= eventsBefore) ctx.staleMark = 0;
}

async function syncVersion(ctx: CaContext) {
  const eventsBefore = revocationEventCount();
  const row = await db().certificateAuthority.findUniqueOrThrow({ where: { id: ctx.caId }, select: { revocationVersion: true } });
  applyVersion(ctx, row.revocationVersion, eventsBefore);
}

/** A revocation committed in this process: no cached answer of the CA is used until its version is re-read. */
export function onLocalOcspChange(caId: string) {
  for (const ctx of state.ready.values()) {
    if (ctx.caId !== caId) continue;
    ctx.staleMark = revocationEventCount();
    ctx.epoch++;
  }
}

/** The poll's versions (lib/services/revocation-state.ts): picks up revocations made elsewhere. */
export function followOcspState(snapshot: RevocationSnapshot) {
  const versions = new Map(snapshot.cas.map((ca) => [ca.id, ca.revocationVersion]));
  for (const ctx of state.ready.values()) {
    const version = versions.get(ctx.caId);
    if (version !== undefined) applyVersion(ctx, version, snapshot.eventsBefore);
  }
}

/** Statuses of the request's serials; synchronous when all are known (the common case), else one query. */
function statusOf(ctx: CaContext, items: OcspCertId[]): Map<string, OcspCertStatus> | Promise<Map<string, OcspCertStatus>> {
  const out = new Map<string, OcspCertStatus>();
  let missing: Set<string> | null = null;
  for (const i of items) {
    const known = ctx.statuses.get(i.serialHex);
    if (known) out.set(i.serialHex, known);
    else (missing ??= new Set()).add(i.serialHex);
  }
  return missing ? queryStatuses(ctx, missing, out) : out;
}

async function queryStatuses(ctx: CaContext, missing: Set<string>, out: Map<string, OcspCertStatus>): Promise<Map<string, OcspCertStatus>> {
  const epoch = ctx.epoch;
  const rows = await db().certificate.findMany({
    where: { caId: ctx.caId, serialHex: { in: [...missing] } },
    select: { serialHex: true, status: true, revokedAt: true, revocationReason: true },
  });
  const found = new Map<string, OcspCertStatus>(rows.map((r) => [r.serialHex, r.revokedAt ? { type: "revoked", revokedAt: r.revokedAt, reason: r.revocationReason ?? 0 } : { type: "good" }]));
  for (const serial of missing) {
    // "unknown" is not remembered: issuance bumps no version, and a fresh certificate must be
    // answered "good" at once.
    const status = found.get(serial) ?? { type: "unknown" as const };
    out.set(serial, status);
    if (status.type !== "unknown" && ctx.epoch === epoch && ctx.staleMark === 0) {
      if (ctx.statuses.size >= CACHE_LIMIT) ctx.statuses.delete(ctx.statuses.keys().next().value!);
      ctx.statuses.set(serial, status);
    }
  }
  return out;
}

function remember(cache: Map<string, CachedAnswer>, key: string, entry: CachedAnswer) {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, entry);
}

const rawKeyOf = (der: Uint8Array) => Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("latin1");

/**
 * The remembered answer for exactly these request bytes (POST) or this raw URL path after the CA
 * slug (GET), when one is current; null otherwise (then call answerOcsp). Synchronous: the HTTP
 * handler answers a repeated nonce-less request without a promise, a decode or a parse.
 */
export function cachedOcspAnswer(slug: string, request: Uint8Array | string): OcspAnswer | null {
  const ctx = state.ready.get(slug);
  if (!ctx || ctx.staleMark !== 0) return null;
  let hit: CachedAnswer | undefined;
  if (typeof request === "string") hit = request.length <= RAW_GET_KEY_MAX ? ctx.rawGet.get(request) : undefined;
  else hit = request.length <= RAW_POST_KEY_MAX ? ctx.raw.get(rawKeyOf(request)) : undefined;
  if (!hit || Date.now() >= hit.refreshAt) return null;
  countOcspAnswer(hit.answer, "hit");
  return hit.answer;
}

/**
 * Answers one DER OCSPRequest for the CA `slug`. Protocol errors are answered in the protocol
 * (malformedRequest, unauthorized, internalError), never as HTTP errors. `getPath` is the raw URL
 * path the request came in by GET, remembered with a cacheable answer for cachedOcspAnswer.
 */
export async function answerOcsp(slug: string, requestDer: Uint8Array, getPath?: string): Promise<OcspAnswer> {
  const served = { hit: false };
  const answer = await answerOcspRequest(slug, requestDer, getPath, served);
  countOcspAnswer(answer, served.hit ? "hit" : "miss");
  return answer;
}

async function answerOcspRequest(slug: string, requestDer: Uint8Array, getPath: string | undefined, served: { hit: boolean }): Promise<OcspAnswer> {
  const rawKey = requestDer.length <= RAW_POST_KEY_MAX ? rawKeyOf(requestDer) : null;
  const getKey = getPath !== undefined && getPath.length <= RAW_GET_KEY_MAX ? getPath : null;
  const ready = state.ready.get(slug);
  if (rawKey && ready && ready.staleMark === 0) {
    const hit = ready.raw.get(rawKey);
    if (hit && Date.now() < hit.refreshAt) {
      if (getKey) remember(ready.rawGet, getKey, hit);
      served.hit = true;
      return hit.answer;
    }
  }
  let request;
  try {
    request = parseOcspRequest(requestDer);
  } catch (e) {
    if (e instanceof OcspRequestError) return { body: ocspErrorResponse(e.status), status: e.status };
    return { body: ocspErrorResponse("malformedRequest"), status: "malformedRequest" };
  }
  try {
    // The loaded context directly when there is one: no promise to wait for on the hot path.
    const ctx = ready ?? (await context(slug));
    // RFC 5019: a responder answers "unauthorized" for issuers it does not serve.
    if (!ctx || !request.requests.every((r) => ctx.matches(r))) return { body: ocspErrorResponse("unauthorized"), status: "unauthorized" };
    if (ctx.staleMark !== 0) await syncVersion(ctx);
    if (ctx.responder.notAfter.getTime() - Date.now() <= RESPONDER_ROTATE_MS) {
      const ca = await db().certificateAuthority.findUniqueOrThrow({ where: { id: ctx.caId } });
      ctx.responder = await ensureResponder(ca);
      clearCaches(ctx);
    }
    // Another revocation landed during the version read: answer from the database alone this time.
    const trusted = ctx.staleMark === 0;
    const cacheable = !request.nonce && request.requests.length === 1;
    const key = cacheable ? ocspCacheKey(request.requests[0]) : "";
    const now = Date.now();
    if (cacheable && trusted) {
      const hit = ctx.cache.get(key);
      if (hit && now < hit.refreshAt) {
        if (rawKey) remember(ctx.raw, rawKey, hit);
        if (getKey) remember(ctx.rawGet, getKey, hit);
        served.hit = true;
        return hit.answer;
      }
    }
    const epoch = ctx.epoch;
    const known = trusted ? statusOf(ctx, request.requests) : queryStatuses(ctx, new Set(request.requests.map((r) => r.serialHex)), new Map());
    const statuses = known instanceof Map ? known : await known;
    const producedAt = new Date(Math.floor(now / 1000) * 1000);
    const nextUpdate = new Date(producedAt.getTime() + RESPONSE_VALIDITY_MS);
    const der = await buildOcspResponse({
      responderCertificate: ctx.responder.certificateDer,
      signer: ctx.responder.signer,
      producedAt,
      nonce: request.nonce,
      responses: request.requests.map((r) => ({ certId: r, status: statuses.get(r.serialHex) ?? { type: "unknown" }, thisUpdate: producedAt, nextUpdate })),
    });
    const status = request.requests.length === 1 ? (statuses.get(request.requests[0].serialHex)?.type ?? "unknown") : "multiple";
    // "unknown" is never kept: the serial may be issued a moment later and must then be "good".
    if (!cacheable || status === "unknown") return { body: der, status };
    const answer: OcspAnswer = { body: der, status, cache: { producedAt, nextUpdate } };
    // Only cache what was produced from the current version (a revocation may have landed meanwhile).
    if (trusted && ctx.epoch === epoch && ctx.staleMark === 0) {
      const entry = { answer, refreshAt: producedAt.getTime() + RESPONSE_VALIDITY_MS / 2 };
      remember(ctx.cache, key, entry);
      if (rawKey) remember(ctx.raw, rawKey, entry);
      if (getKey) remember(ctx.rawGet, getKey, entry);
    }
    return answer;
  } catch (e) {
    console.error("[certfleet] OCSP internal error:", e instanceof Error ? e.message : e);
    return { body: ocspErrorResponse("internalError"), status: "internalError" };
  }
}

/** Makes sure every issuing CA has a current responder (server start and a daily timer). */
export async function ensureAllResponders(): Promise<void> {
  for (const ca of await db().certificateAuthority.findMany({ where: { kind: "issuing", status: "active" } })) await ensureResponder(ca);
}

export async function getOcspResponderStates(actor: Actor) {
  authorize(actor, "cas:read");
  const rows = await db().ocspResponder.findMany({ orderBy: { notAfter: "desc" }, include: { ca: { select: { slug: true } } } });
  return rows.map((r) => ({ caId: r.caId, slug: r.ca.slug, serialHex: r.serialHex, notBefore: r.notBefore, notAfter: r.notAfter, status: r.status }));
}

export function forgetOcspStateForTests() {
  state.contexts.clear();
  state.ready.clear();
}
