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
import { db, isPostgres, transaction, type Tx } from "../db";
import { config } from "../config";
import { authorize, type Actor } from "../auth/roles";
import { onRevocationChanged } from "../events";
import { caSigner, caUrls, type CaRecord } from "./cas";
import { buildCrl, crlToPemBytes, type CrlEntryInput } from "../pki/crl";

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
  inflight: Map<string, Promise<ServedCrl>>;
  /** When a failed re-sign was last reported per CA (reported once a minute, not on every poll). */
  warned: Map<string, number>;
  scheduler?: NodeJS.Timeout;
  unsubscribe?: () => void;
}

const g = globalThis as unknown as { __certfleetCrl?: CrlState };
const state: CrlState = (g.__certfleetCrl ??= { served: new Map(), inflight: new Map(), warned: new Map() });

const KEEP_STORED = 5;

function validityMs(): number {
  return config().crlValidityHours * 3_600_000;
}

function toServed(ca: Pick<CaRecord, "id" | "slug">, row: { number: bigint; thisUpdate: Date; nextUpdate: Date; revocationVersion: number; entryCount: number; der: Uint8Array }): ServedCrl {
  const der = Buffer.from(row.der.buffer, row.der.byteOffset, row.der.byteLength); // a view: no copy of a large CRL
  let pem: Buffer | undefined;
  return {
    caId: ca.id,
    slug: ca.slug,
    number: row.number,
    thisUpdate: row.thisUpdate,
    nextUpdate: row.nextUpdate,
    revocationVersion: row.revocationVersion,
    entryCount: row.entryCount,
    der,
    // On first use: most brokers fetch the DER, and a 1M-entry CRL's PEM is 60 MB and ~0.1 s.
    get pem() {
      return (pem ??= crlToPemBytes(der));
    },
    etag: `"${createHash("sha256").update(der).digest("base64url").slice(0, 27)}"`,
    lastModified: row.thisUpdate.toUTCString(),
  };
}

/**
 * The CA's revoked certificates still in force, as the aggregate "serial,epochSeconds,reason;…"
 * (reason empty for none), in the database's scan order, and how many rows it joins.
 *
 * One aggregated text value rather than one row per certificate: Prisma costs ~5–10 µs and several
 * objects per row, so findMany of 100,000 revoked rows took 0.6–1.2 s and ~400 MB — more than the
 * whole CRL — while the database builds the string in ~0.15 s. Most of that is visiting the table
 * rows (they hold the certificate DER); an index on (caId, revokedAt, notAfter, serialHex,
 * revocationReason) answers from the index alone: ~0.05 s at 100,000, 0.4 s instead of 2.8 s at a
 * million (measured on SQLite). Seconds suffice: CRL times carry
 * whole seconds (milliseconds dropped, as writeTime does). SQLite holds DateTime as ISO-8601 text
 * (the Prisma adapter's default format), which unixepoch() reads; PostgreSQL's timestamp(3) holds
 * UTC. Expired certificates leave the CRL (RFC 5280 3.3 allows it): the list only grows with the
 * revocations still in force, which keeps its cost gentle on a long-lived fleet.
 */
async function readRevoked(tx: Tx, caId: string, now: Date): Promise<{ list: string; count: number }> {
  type Row = { list: string | null; n: bigint | number };
  const rows = isPostgres()
    ? await tx.$queryRawUnsafe<Row[]>(
        `SELECT count(*) AS n, string_agg("serialHex" || ',' || floor(extract(epoch from "revokedAt"))::bigint || ',' || coalesce("revocationReason"::text, ''), ';') AS list
         FROM "Certificate" WHERE "caId" = $1 AND "revokedAt" IS NOT NULL AND "notAfter" > $2::timestamp`,
        caId,
        now.toISOString(),
      )
    : await tx.$queryRawUnsafe<Row[]>(
        `SELECT count(*) AS n, group_concat("serialHex" || ',' || unixepoch("revokedAt") || ',' || ifnull("revocationReason", ''), ';') AS list
         FROM "Certificate" WHERE "caId" = ? AND "revokedAt" IS NOT NULL AND "notAfter" > ?`,
        caId,
        now,
      );
  return { list: rows[0]?.list ?? "", count: Number(rows[0]?.n ?? 0) };
}

/** Digits of list[from, to) as an integer; NaN when there are none or anything else. */
function parseDigits(list: string, from: number, to: number): number {
  let value = 0;
  let sign = 1;
  if (list.charCodeAt(from) === 45) {
    sign = -1;
    from++;
  }
  if (from >= to) return NaN;
  for (let i = from; i < to; i++) {
    const d = list.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    value = value * 10 + d;
  }
  return sign * value;
}

/**
 * The records of a readRevoked aggregate, for buildCrl. One record object and one Date are reused
 * for every entry (buildCrl reads each once and keeps neither): a million records as objects
 * would cost ~100 MB and their collection. `counted.records` ends as the number handed out.
 */
export function* revokedRecords(list: string, counted: { records: number } = { records: 0 }): Generator<CrlEntryInput, void, undefined> {
  const record = { serialHex: "", revokedAt: new Date(0), reason: null as number | null };
  let pos = 0;
  while (pos < list.length) {
    const c1 = list.indexOf(",", pos);
    const c2 = c1 < 0 ? -1 : list.indexOf(",", c1 + 1);
    let end = list.indexOf(";", pos);
    if (end < 0) end = list.length;
    if (c1 < 0 || c2 < 0 || c2 >= end) throw new Error("malformed revoked-certificate list from the database");
    const seconds = parseDigits(list, c1 + 1, c2);
    if (Number.isNaN(seconds)) throw new Error("malformed revocation time from the database");
    record.serialHex = list.slice(pos, c1);
    record.revokedAt.setTime(seconds * 1000);
    record.reason = c2 + 1 === end ? null : parseDigits(list, c2 + 1, end);
    counted.records++;
    yield record;
    pos = end + 1;
  }
}

/** Signs and stores a new CRL for the CA; returns it. */
async function generateCrl(caId: string): Promise<ServedCrl> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  // thisUpdate a minute in the past: a broker whose clock lags a little would otherwise see a CRL
  // that is "not yet valid" — and mosquitto then refuses every client.
  const thisUpdate = new Date(now.getTime() - 60_000);
  // The signer first: a CA key that cannot sign (token away) must not take a CRL number on every poll.
  const signer = await caSigner(await db().certificateAuthority.findUniqueOrThrow({ where: { id: caId } }));
  const { ca, revoked } = await transaction(async (tx) => {
    const ca = await tx.certificateAuthority.update({ where: { id: caId }, data: { crlNumber: { increment: 1 } } });
    return { ca, revoked: await readRevoked(tx, caId, now) };
  }, { timeout: 60_000, maxWait: 30_000 });

  const uris = JSON.parse(ca.crlUris) as string[];
  const idpUris = uris.length ? uris : [caUrls(ca.slug).crl];
  const nextUpdate = new Date(now.getTime() + validityMs());
  // Every CRL is written from the records (a fraction of a µs an entry): no per-entry cache to keep in step.
  const counted = { records: 0 };
  const der = await buildCrl({
    issuerCertificate: ca.certificateDer,
    signer,
    crlNumber: ca.crlNumber,
    thisUpdate,
    nextUpdate,
    revoked: revokedRecords(revoked.list, counted),
    revokedCount: revoked.count,
    idpUris,
  });
  // The aggregate skips NULLs: a date the database cannot convert would drop a revoked certificate
  // from the CRL without a word. Such a CRL is never stored or served.
  if (counted.records !== revoked.count) throw new Error(`revoked-certificate list of CA ${caId} is incomplete: ${counted.records} of ${revoked.count} rows`);
  const row = { number: ca.crlNumber, thisUpdate, nextUpdate, entryCount: revoked.count, revocationVersion: ca.revocationVersion, der };
  // select: the created row would otherwise come back with its DER, megabytes read for nothing.
  await db().crl.create({ data: { caId, ...row, sizeBytes: der.length }, select: { id: true } });
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
    // The newest stored CRL's DER is read only when it will be served (it can be tens of MB).
    const latest = await db().crl.findFirst({ where: { caId }, orderBy: { number: "desc" }, select: { id: true, thisUpdate: true, nextUpdate: true, revocationVersion: true } });
    const stored = latest && !needsResign(latest, ca.revocationVersion) ? await db().crl.findUnique({ where: { id: latest.id } }) : null;
    let crl: ServedCrl;
    try {
      crl = stored ? toServed(ca, stored) : await generateCrl(caId);
    } catch (e) {
      // The CA key cannot sign now (its token is away): keep serving the last signed CRL until its nextUpdate.
      const last = served ?? (latest && latest.nextUpdate.getTime() > Date.now() ? toServed(ca, await db().crl.findUniqueOrThrow({ where: { id: latest.id } })) : null);
      if (!last || last.nextUpdate.getTime() <= Date.now()) throw e;
      if (Date.now() - (state.warned.get(caId) ?? 0) > 60_000) {
        state.warned.set(caId, Date.now());
        console.error(`[certfleet] CRL of ${ca.slug} not re-signed (serving number ${last.number} until ${last.nextUpdate.toISOString()}): ${e instanceof Error ? e.message : String(e)}`);
      }
      crl = last;
    }
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
}
