// CRLs: signed ahead of time, stored, and served from memory. A CRL is re-signed when the CA's
// revocationVersion moves past the version it reflects (a revocation here or on another instance),
// and when half of its validity has passed — so none ever reaches its nextUpdate while the app runs.
//
// Numbering rule (RFC 5280 5.2.3, and mosquitto/EMQX take the highest as current): the number is
// taken by incrementing CertificateAuthority.crlNumber in the same transaction that reads the
// revoked set. The increment locks the CA row, and every revocation bumps revocationVersion on the
// same row, so a higher number always reflects a superset of the revocations a lower one saw.
// A number whose CRL fails to be stored is skipped, never reused.
import { createHash } from "node:crypto";
import { db, transaction } from "../db";
import { config } from "../config";
import { authorize, type Actor } from "../auth/roles";
import { onRevocationChanged } from "../events";
import { caSigner, caUrls, type CaRecord } from "./cas";
import { buildCrl, crlToPem, encodeCrlEntry } from "../pki/crl";

export interface ServedCrl {
  caId: string;
  slug: string;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  revocationVersion: number;
  entryCount: number;
  der: Buffer;
  pem: Buffer;
  etag: string;
  lastModified: string;
}

interface CrlState {
  served: Map<string, ServedCrl>;
  /** Encoded revokedCertificates entries by serial|date|reason, so a new CRL only encodes what changed. */
  entries: Map<string, Map<string, Uint8Array>>;
  inflight: Map<string, Promise<ServedCrl>>;
  scheduler?: NodeJS.Timeout;
  unsubscribe?: () => void;
}

const g = globalThis as unknown as { __certfleetCrl?: CrlState };
const state: CrlState = (g.__certfleetCrl ??= { served: new Map(), entries: new Map(), inflight: new Map() });

const KEEP_STORED = 5;

function validityMs(): number {
  return config().crlValidityHours * 3_600_000;
}

function toServed(ca: Pick<CaRecord, "id" | "slug">, row: { number: bigint; thisUpdate: Date; nextUpdate: Date; revocationVersion: number; entryCount: number; der: Uint8Array }): ServedCrl {
  const der = Buffer.from(row.der);
  return {
    caId: ca.id,
    slug: ca.slug,
    number: row.number,
    thisUpdate: row.thisUpdate,
    nextUpdate: row.nextUpdate,
    revocationVersion: row.revocationVersion,
    entryCount: row.entryCount,
    der,
    pem: Buffer.from(crlToPem(der)),
    etag: `"${createHash("sha256").update(der).digest("base64url").slice(0, 27)}"`,
    lastModified: row.thisUpdate.toUTCString(),
  };
}

/** Signs and stores a new CRL for the CA; returns it. */
async function generateCrl(caId: string): Promise<ServedCrl> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  // thisUpdate a minute in the past: a broker whose clock lags a little would otherwise see a CRL
  // that is "not yet valid" — and mosquitto then refuses every client.
  const thisUpdate = new Date(now.getTime() - 60_000);
  const { ca, revoked } = await transaction(async (tx) => {
    const ca = await tx.certificateAuthority.update({ where: { id: caId }, data: { crlNumber: { increment: 1 } } });
    // Expired certificates leave the CRL (RFC 5280 3.3 allows it): the list only grows with the
    // revocations still in force, which keeps its cost gentle on a long-lived fleet.
    const revoked = await tx.certificate.findMany({
      where: { caId, revokedAt: { not: null }, notAfter: { gt: now } },
      select: { serialHex: true, revokedAt: true, revocationReason: true },
    });
    return { ca, revoked };
  }, { timeout: 60_000, maxWait: 30_000 });

  let cache = state.entries.get(caId);
  if (!cache) state.entries.set(caId, (cache = new Map()));
  const next = new Map<string, Uint8Array>();
  const entries: Uint8Array[] = new Array(revoked.length);
  for (let i = 0; i < revoked.length; i++) {
    const r = revoked[i];
    const key = `${r.serialHex}|${r.revokedAt!.getTime()}|${r.revocationReason ?? 0}`;
    let bytes = cache.get(key);
    if (!bytes) bytes = encodeCrlEntry({ serialHex: r.serialHex, revokedAt: r.revokedAt!, reason: r.revocationReason ?? 0 });
    next.set(key, bytes);
    entries[i] = bytes;
  }
  state.entries.set(caId, next);

  const uris = JSON.parse(ca.crlUris) as string[];
  const idpUris = uris.length ? uris : [caUrls(ca.slug).crl];
  const nextUpdate = new Date(now.getTime() + validityMs());
  const der = await buildCrl({ issuerCertificate: ca.certificateDer, signer: await caSigner(ca), crlNumber: ca.crlNumber, thisUpdate, nextUpdate, entries, idpUris });
  const row = await db().crl.create({
    data: { caId, number: ca.crlNumber, thisUpdate, nextUpdate, entryCount: entries.length, revocationVersion: ca.revocationVersion, sizeBytes: der.length, der },
  });
  const old = await db().crl.findMany({ where: { caId }, orderBy: { number: "desc" }, skip: KEEP_STORED, select: { id: true } });
  if (old.length) await db().crl.deleteMany({ where: { id: { in: old.map((o) => o.id) } } });
  return toServed(ca, row);
}

function needsResign(crl: { thisUpdate: Date; nextUpdate: Date; revocationVersion: number } | null, caVersion: number, now = Date.now()): boolean {
  if (!crl) return true;
  if (crl.revocationVersion < caVersion) return true;
  const half = (crl.nextUpdate.getTime() - crl.thisUpdate.getTime()) / 2;
  return now >= crl.thisUpdate.getTime() + half;
}

/**
 * Makes sure the CA's served CRL is current: takes the newest stored CRL (possibly signed by
 * another instance) when it is fresh, else signs a new one. One run per CA at a time.
 */
export async function refreshCrl(caId: string): Promise<ServedCrl> {
  const running = state.inflight.get(caId);
  if (running) return running;
  const run = (async () => {
    const ca = await db().certificateAuthority.findUniqueOrThrow({ where: { id: caId }, select: { id: true, slug: true, revocationVersion: true } });
    const served = state.served.get(ca.slug);
    if (served && !needsResign(served, ca.revocationVersion)) return served;
    const latest = await db().crl.findFirst({ where: { caId }, orderBy: { number: "desc" } });
    const crl = latest && !needsResign(latest, ca.revocationVersion) ? toServed(ca, latest) : await generateCrl(caId);
    state.served.set(ca.slug, crl);
    return crl;
  })();
  state.inflight.set(caId, run);
  try {
    return await run;
  } finally {
    state.inflight.delete(caId);
  }
}

/** The CRL to serve for a CA slug (null for an unknown or non-issuing CA). */
export async function getServedCrl(slug: string): Promise<ServedCrl | null> {
  const served = state.served.get(slug);
  if (served && Date.now() < served.nextUpdate.getTime()) return served;
  const ca = await db().certificateAuthority.findUnique({ where: { slug }, select: { id: true, kind: true } });
  if (!ca || ca.kind !== "issuing") return null;
  return refreshCrl(ca.id);
}

export async function issuingCaIds(): Promise<{ id: string; slug: string; revocationVersion: number }[]> {
  return db().certificateAuthority.findMany({ where: { kind: "issuing" }, select: { id: true, slug: true, revocationVersion: true }, orderBy: { createdAt: "asc" } });
}

/**
 * Keeps every issuing CA's CRL current while the server runs: re-signs right after a local
 * revocation (debounced), within a second of one on another instance (version poll), and at half
 * of the validity. Returns a stop function.
 */
export function startCrlScheduler(options: { pollMs?: number; debounceMs?: number; log?: (line: string) => void } = {}): () => void {
  const pollMs = options.pollMs ?? 1000;
  const debounceMs = options.debounceMs ?? 100;
  const log = options.log ?? ((line: string) => console.error(line));
  const pending = new Map<string, NodeJS.Timeout>();
  const refresh = (caId: string) =>
    refreshCrl(caId).catch((e) => log(`[certfleet] CRL refresh for ${caId} failed: ${e instanceof Error ? e.message : String(e)}`));

  state.unsubscribe?.();
  state.unsubscribe = onRevocationChanged((caId) => {
    clearTimeout(pending.get(caId));
    pending.set(caId, setTimeout(() => { pending.delete(caId); void refresh(caId); }, debounceMs));
  });
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      for (const ca of await issuingCaIds()) {
        const served = state.served.get(ca.slug);
        if (needsResign(served ?? null, ca.revocationVersion)) await refresh(ca.id);
      }
    } catch (e) {
      log(`[certfleet] CRL poll failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      polling = false;
    }
  };
  void poll();
  if (state.scheduler) clearInterval(state.scheduler);
  state.scheduler = setInterval(poll, pollMs);
  state.scheduler.unref();
  return () => {
    if (state.scheduler) clearInterval(state.scheduler);
    state.scheduler = undefined;
    state.unsubscribe?.();
    state.unsubscribe = undefined;
    for (const t of pending.values()) clearTimeout(t);
  };
}

export interface CrlStateView {
  caId: string;
  slug: string;
  name: string;
  number: string;
  thisUpdate: Date;
  nextUpdate: Date;
  entryCount: number;
  sizeBytes: number;
  crlUrl: string;
  pemUrl: string;
}

/** CRL freshness per issuing CA, for the overview and the CAs page. */
export async function getCrlStates(actor: Actor): Promise<CrlStateView[]> {
  authorize(actor, "cas:read");
  const cas = await db().certificateAuthority.findMany({ where: { kind: "issuing" }, orderBy: { createdAt: "asc" } });
  const out: CrlStateView[] = [];
  for (const ca of cas) {
    const latest = await db().crl.findFirst({
      where: { caId: ca.id },
      orderBy: { number: "desc" },
      select: { number: true, thisUpdate: true, nextUpdate: true, entryCount: true, sizeBytes: true },
    });
    if (!latest) continue;
    const crlUrl = caUrls(ca.slug).crl;
    out.push({ caId: ca.id, slug: ca.slug, name: ca.name, number: latest.number.toString(), thisUpdate: latest.thisUpdate, nextUpdate: latest.nextUpdate, entryCount: latest.entryCount, sizeBytes: latest.sizeBytes, crlUrl, pemUrl: crlUrl.replace(/\.crl$/, ".pem") });
  }
  return out;
}

export function forgetCrlStateForTests() {
  state.served.clear();
  state.entries.clear();
}
