// CRLs: signed ahead of time, stored, and served from memory. A CRL is re-signed when the CA's
// revocationVersion moves past the version it reflects (a revocation here or on another instance),
// and when half of its validity has passed — so none ever reaches its nextUpdate while the app runs.
//
// Numbering rule (RFC 5280 5.2.3, and mosquitto/EMQX take the highest as current): the number is
// taken by incrementing CertificateAuthority.crlNumber in the same transaction that reads the
// revoked set. The increment locks the CA row, and every revocation bumps revocationVersion on the
// same row, so a higher number always reflects a superset of the revocations a lower one saw.
// A number whose CRL fails to be stored is skipped, never reused.
//
// Several instances on one database serve one sequence: every instance serves the highest-numbered
// stored CRL it knows (its own or one another instance stored, seen by the half-second poll of
// lib/services/revocation-state.ts), never a lower one after a higher. While other instances are
// alive a new CRL is held back until HOLD_MS after it was stored, by its signer and by everyone
// who loads it, so all switch at the same moment and a client alternating between instances never
// sees the number go back. Alone, an instance serves its new CRL at once. The moment is the
// signer's clock plus HOLD_MS read on each instance's clock: instances keep their clocks in step
// (NTP) as they must for CRL and OCSP times anyway.
//
// Workers of one server (CERTFLEET_WORKERS > 1) are instances like any other, on SQLite too: the
// increment above runs under SQLite's one write lock, so two workers never take the same number.
// Among siblings alone the hold-back is shorter (SIBLING_HOLD_MS): the signer tells its siblings the
// number and the moment it serves it (revocation-state.ts), they share one clock, and a revocation
// then reaches every worker's CRL within a second. A sibling does not rely on having loaded the CRL
// in time: a request it gets at or after that moment waits for the load (a few milliseconds) rather
// than answer with the lower number, and every process publishes on its requests as well as on its
// timers, so a late timer in a busy event loop cannot send a client back either.
import { createHash } from "node:crypto";
import { db, isPostgres, transaction, type Tx } from "../db";
import { config } from "../config";
import { authorize, type Actor } from "../auth/roles";
import { caSigner, caUrls, type CaRecord } from "./cas";
import { buildCrl, crlToPemBytes, type CrlEntryInput } from "../pki/crl-writer";
import { emitCrlStored, type CrlStored, type RevocationSnapshot } from "../events";
import { inClusterWorker } from "../ipc";

export interface ServedCrl {
  caId: string;
  slug: string;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  revocationVersion: number;
  entryCount: number;
  /** When it was stored: the moment every instance's hold-back counts from. */
  storedAt: Date;
  /** Signed by this process (else loaded from the database, signed by another instance). */
  signedHere: boolean;
  der: Buffer;
  pem: Buffer;
  etag: string;
  lastModified: string;
}

interface Held {
  crl: ServedCrl;
  publishAt: number;
  timer: NodeJS.Timeout;
}

interface Announcement {
  caId: string;
  number: bigint;
  publishAt: number;
  /** Its load from the database, once started (cleared when it failed, to be tried again). */
  load?: Promise<void>;
}

interface CrlState {
  /** What each CA slug serves now. */
  served: Map<string, ServedCrl>;
  /** Newer CRLs waiting for their publishAt, ascending by number. */
  held: Map<string, Held[]>;
  /** CRLs sibling workers signed, by slug: each served by its signer from publishAt, so here too. */
  announced: Map<string, Announcement[]>;
  /** The refresh running per CA id, and whether it may sign. */
  inflight: Map<string, { promise: Promise<ServedCrl>; sign: boolean; next?: Promise<ServedCrl> }>;
  /** Local revocations waiting for their debounce, by CA id. */
  debounce: Map<string, NodeJS.Timeout>;
  /** When the poll first saw a CA's version ahead of every CRL, for a move made elsewhere. */
  behindSince: Map<string, number>;
  /** Other instances alive on the database, as of the last poll (sibling workers included). */
  peers: number;
  /** Of those, the ones that are not workers of this server. */
  remotePeers: number;
  /** When a failed re-sign was last reported per CA (reported once a minute, not on every poll). */
  warned: Map<string, number>;
}

const g = globalThis as unknown as { __certfleetCrlState?: CrlState };
const state: CrlState = (g.__certfleetCrlState ??= { served: new Map(), held: new Map(), announced: new Map(), inflight: new Map(), debounce: new Map(), behindSince: new Map(), peers: 0, remotePeers: 0, warned: new Map() });

const KEEP_STORED = 5;
/**
 * Hold-back of a new CRL while other instances are alive: longer than their poll interval (0.5 s)
 * plus reading a large CRL (~0.1 s at 100,000 entries), so each has loaded it before anyone
 * serves it.
 */
export const HOLD_MS = 1_200;
/**
 * The hold-back when the only other instances are sibling workers: they are told at once and load
 * the CRL in milliseconds (their poll, 0.5 s, is only the fallback), plus a little per entry for
 * reading a large one (a million entries: +0.5 s). Debounce plus signing plus this keeps
 * revocation → CRL served in every worker under a second for CRLs of up to ~100,000 entries.
 */
export const SIBLING_HOLD_MS = 300;
const siblingHoldMs = (entries: number) => SIBLING_HOLD_MS + Math.ceil(entries / 2_000);
/** A local revocation is signed after this quiet time, so a burst of revocations costs one CRL. */
const DEBOUNCE_MS = 100;
/**
 * While other instances are alive, work that is another instance's is left to it for this long:
 * a version it moved (it signs right after its commit), and the half-life re-sign of a CRL it
 * signed. Only then does this instance sign: two instances signing the same million entries
 * would waste seconds of CPU, and one of them may have died.
 */
const REMOTE_GRACE_MS = 2_000;

function validityMs(): number {
  return config().crlValidityHours * 3_600_000;
}

function toServed(ca: Pick<CaRecord, "id" | "slug">, row: { number: bigint; thisUpdate: Date; nextUpdate: Date; revocationVersion: number; entryCount: number; createdAt: Date; der: Uint8Array }, signedHere = false): ServedCrl {
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
    storedAt: row.createdAt,
    signedHere,
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
 * million (measured on SQLite). Rows straight from the driver, past Prisma, were measured too
 * (94,750 revoked, interleaved runs, medians): SQLite better-sqlite3 raw iterate 611 ms against
 * 198 ms for the aggregate; PostgreSQL pg rowMode "array" 781 ms against 818 ms, no measurable
 * gain, and the driver connection cannot share the transaction that takes the CRL number (the
 * numbering rule above). So the text stays. Seconds suffice: CRL times carry
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
  // createdAt set here, not by a database default: the hold-back counts from it on every instance.
  const row = { number: ca.crlNumber, thisUpdate, nextUpdate, entryCount: revoked.count, revocationVersion: ca.revocationVersion, createdAt: new Date(), der };
  // select: the created row would otherwise come back with its DER, megabytes read for nothing.
  await db().crl.create({ data: { caId, ...row, sizeBytes: der.length }, select: { id: true } });
  const old = await db().crl.findMany({ where: { caId }, orderBy: { number: "desc" }, skip: KEEP_STORED, select: { id: true } });
  if (old.length) await db().crl.deleteMany({ where: { id: { in: old.map((o) => o.id) } } });
  return toServed(ca, row, true);
}

/** The moment half of the CRL's validity has passed: it is re-signed then. */
function halfLife(crl: { thisUpdate: Date; nextUpdate: Date }): number {
  return crl.thisUpdate.getTime() + (crl.nextUpdate.getTime() - crl.thisUpdate.getTime()) / 2;
}

function needsResign(crl: { thisUpdate: Date; nextUpdate: Date; revocationVersion: number } | null, caVersion: number, now = Date.now()): boolean {
  if (!crl) return true;
  return crl.revocationVersion < caVersion || now >= halfLife(crl);
}

/** The highest-numbered CRL this process has for the slug, served or held back. */
function newestKnown(slug: string): ServedCrl | undefined {
  const held = state.held.get(slug);
  return held?.length ? held[held.length - 1].crl : state.served.get(slug);
}

/**
 * Serves the highest-numbered held CRL whose moment has come, and drops the lower ones with it.
 * Not only the first in line: two CRLs signed at once may be stored in the other order (the
 * higher number first), and the lower one's later moment must not hold the higher one back.
 */
function publishDue(slug: string, now = Date.now()) {
  const held = state.held.get(slug);
  if (!held) return;
  let due = -1;
  for (let i = 0; i < held.length; i++) if (held[i].publishAt <= now) due = i;
  if (due < 0) return;
  const published = held.splice(0, due + 1);
  for (const h of published) clearTimeout(h.timer);
  state.served.set(slug, published[due].crl);
  if (!held.length) state.held.delete(slug);
}

/** When a CRL is served: at once when nothing valid is served or this process is alone, else after its hold-back. */
function publishMoment(crl: ServedCrl, now: number): number {
  const served = state.served.get(crl.slug);
  if (served === undefined || now >= served.nextUpdate.getTime()) return now;
  // The moment its signing sibling announced, so that both switch together.
  const announced = state.announced.get(crl.slug)?.find((a) => a.number === crl.number);
  if (announced) return announced.publishAt;
  // One that another instance signed is held even when this one thinks it is alone: its signer
  // may know of instances this one has not seen yet. A cluster worker always has siblings, even
  // before their first heartbeat.
  if (crl.signedHere && state.peers === 0 && !inClusterWorker()) return now;
  return crl.storedAt.getTime() + (state.remotePeers > 0 ? HOLD_MS : siblingHoldMs(crl.entryCount));
}

/**
 * Takes a stored CRL into this process: served at once when this instance is alone, when nothing
 * current is served, or when its hold-back is over; else held until then, in line by number (a
 * lower one may arrive after a higher one: it is served only if its moment comes first). Never
 * replaces a higher number that is served. Returns the moment it is served (undefined when it
 * brings nothing new).
 */
function adopt(crl: ServedCrl): number | undefined {
  const served = state.served.get(crl.slug);
  if (served && served.number >= crl.number) return undefined;
  const now = Date.now();
  const publishAt = publishMoment(crl, now);
  const held = state.held.get(crl.slug) ?? [];
  const same = held.findIndex((h) => h.crl.number === crl.number);
  if (same >= 0) {
    // Loaded before its signer's announcement arrived: the earlier of the two moments stands.
    if (held[same].publishAt <= publishAt) return undefined;
    clearTimeout(held[same].timer);
    held.splice(same, 1);
  }
  const timer = setTimeout(() => publishDue(crl.slug), Math.max(0, publishAt - now));
  timer.unref();
  let at = held.length;
  while (at > 0 && held[at - 1].crl.number > crl.number) at--;
  held.splice(at, 0, { crl, publishAt, timer });
  state.held.set(crl.slug, held);
  publishDue(crl.slug, now);
  return publishAt;
}

/**
 * Makes sure the CA has a current CRL: loads the newest stored one (possibly signed by another
 * instance) when it is newer than what this process has, and — unless `sign` is false — signs a
 * new one when that is outdated. Returns the newest CRL this process then has (served, or held
 * back for a moment). One run per CA at a time.
 */
export async function refreshCrl(caId: string, options: { sign?: boolean } = {}): Promise<ServedCrl> {
  const sign = options.sign ?? true;
  const running = state.inflight.get(caId);
  if (running && !sign) return running.promise;
  // A signature is wanted while a run is going: one more run after it decides again, shared by
  // every caller meanwhile. A signing run in flight may have read the revoked set before the
  // revocation that asks for this one, and nothing else would sign it soon: the poll leaves a
  // version that moved while other instances are alive to them for REMOTE_GRACE_MS.
  if (running) return (running.next ??= running.promise.catch(() => undefined).then(() => refreshCrl(caId)));
  const run = (async () => {
    const ca = await db().certificateAuthority.findUniqueOrThrow({ where: { id: caId }, select: { id: true, slug: true, revocationVersion: true } });
    let known = newestKnown(ca.slug);
    const latest = await db().crl.findFirst({ where: { caId }, orderBy: { number: "desc" }, select: { id: true, number: true, thisUpdate: true, nextUpdate: true, revocationVersion: true, createdAt: true } });
    // The newest stored CRL is taken in even when it is already outdated and this process is about
    // to sign a newer one: until that one is published (after its hold-back) the stored one may be
    // what every other instance serves, and serving an older number meanwhile would send a client
    // that alternates between instances back. Its DER is read only then (it can be tens of MB).
    if (latest && (!known || latest.number > known.number) && latest.nextUpdate.getTime() > Date.now()) {
      // Nothing served yet (a worker or instance just started) while the newest is still inside
      // its hold-back: the others may serve the one before for a moment more, so this process
      // starts with that one too and takes the newest at its moment, not before them.
      const servedNow = state.served.get(ca.slug);
      if ((!servedNow || servedNow.nextUpdate.getTime() <= Date.now()) && Date.now() < latest.createdAt.getTime() + HOLD_MS) {
        const previous = await db().crl.findFirst({ where: { caId, number: { lt: latest.number } }, orderBy: { number: "desc" } });
        if (previous && previous.nextUpdate.getTime() > Date.now()) adopt(toServed(ca, previous));
      }
      const stored = await db().crl.findUnique({ where: { id: latest.id } });
      // Gone already: a newer one replaced it meanwhile (only KEEP_STORED are kept); signed below.
      if (stored) adopt(toServed(ca, stored));
      known = newestKnown(ca.slug);
    }
    if (known && (!sign || !needsResign(known, ca.revocationVersion))) return known;
    try {
      const signed = await generateCrl(caId);
      const publishAt = adopt(signed);
      if (publishAt !== undefined) emitCrlStored({ caId, slug: signed.slug, number: signed.number.toString(), publishAt });
    } catch (e) {
      // The CA key cannot sign now (its token is away): keep serving the newest signed CRL until its nextUpdate.
      const last = known ?? (latest && latest.nextUpdate.getTime() > Date.now() ? toServed(ca, await db().crl.findUniqueOrThrow({ where: { id: latest.id } })) : undefined);
      if (!last || last.nextUpdate.getTime() <= Date.now()) throw e;
      if (Date.now() - (state.warned.get(caId) ?? 0) > 60_000) {
        state.warned.set(caId, Date.now());
        console.error(`[certfleet] CRL of ${ca.slug} not re-signed (serving number ${last.number} until ${last.nextUpdate.toISOString()}): ${e instanceof Error ? e.message : String(e)}`);
      }
      adopt(last);
    }
    return newestKnown(ca.slug)!;
  })();
  state.inflight.set(caId, { promise: run, sign });
  try {
    return await run;
  } finally {
    // Only its own entry: a signing run chained after this one may already stand there.
    if (state.inflight.get(caId)?.promise === run) state.inflight.delete(caId);
  }
}

/** How long requests keep trying to load an announced CRL before serving what they have. */
const ANNOUNCED_GIVE_UP_MS = 10_000;

/** The slug's announcements still to honour: above what is served, and not given up on. */
function liveAnnouncements(slug: string, now = Date.now()): Announcement[] {
  const servedNumber = state.served.get(slug)?.number ?? -1n;
  return (state.announced.get(slug) ?? []).filter((a) => a.number > servedNumber && now < a.publishAt + ANNOUNCED_GIVE_UP_MS);
}

/** Loads a sibling's announced CRL by its number (once; again after a failure or when it was not found). */
function loadAnnounced(slug: string, a: Announcement): Promise<void> {
  a.load ??= (async () => {
    const row = await db().crl.findFirst({ where: { caId: a.caId, number: a.number } });
    if (row) adopt(toServed({ id: a.caId, slug }, row));
    // Gone: enough newer ones replaced it (only KEEP_STORED are kept); take the newest.
    else await refreshCrl(a.caId, { sign: false });
  })().then(
    () => {
      if ((newestKnown(slug)?.number ?? -1n) < a.number) a.load = undefined;
    },
    (e: unknown) => {
      a.load = undefined;
      throw e;
    },
  );
  return a.load;
}

/**
 * A sibling worker stored a CRL and serves it from `publishAt`: noted, so that this worker does not
 * answer with a lower number from then on, and loaded now (well inside the hold-back, normally).
 */
export function takeSiblingCrl(stored: CrlStored, log: (line: string) => void) {
  const number = BigInt(stored.number);
  if ((state.served.get(stored.slug)?.number ?? -1n) >= number) return;
  const a: Announcement = { caId: stored.caId, number, publishAt: stored.publishAt };
  // The ones already served or given up on go (requests prune too, but CRLs may be fetched rarely).
  state.announced.set(stored.slug, [...liveAnnouncements(stored.slug).filter((o) => o.number !== number), a]);
  loadAnnounced(stored.slug, a).catch((e: unknown) => log(`[certfleet] CRL ${stored.number} of ${stored.slug} not loaded yet: ${e instanceof Error ? e.message : String(e)}`));
}

/**
 * Publishes what is due and, when a sibling's announced CRL is due but not loaded yet (its load
 * was slower than the hold-back), loads it first: from its moment on no worker answers with a
 * lower number.
 */
async function catchUp(slug: string): Promise<void> {
  const now = Date.now();
  publishDue(slug, now);
  const due = liveAnnouncements(slug, now).filter((a) => a.publishAt <= now);
  if (due.length) {
    await Promise.all(due.map((a) => loadAnnounced(slug, a).catch(() => undefined)));
    publishDue(slug);
  }
  // Read after the load: an announcement may have arrived meanwhile.
  const left = liveAnnouncements(slug);
  if (left.length) state.announced.set(slug, left);
  else state.announced.delete(slug);
}

/** The CRL to serve for a CA slug (null for an unknown or non-issuing CA). */
export async function getServedCrl(slug: string): Promise<ServedCrl | null> {
  if (state.held.has(slug) || state.announced.has(slug)) await catchUp(slug);
  const served = state.served.get(slug);
  if (served && Date.now() < served.nextUpdate.getTime()) return served;
  const ca = await db().certificateAuthority.findUnique({ where: { slug }, select: { id: true, kind: true } });
  if (!ca || ca.kind !== "issuing") return null;
  const newest = await refreshCrl(ca.id);
  return state.served.get(slug) ?? newest;
}

export async function issuingCaIds(): Promise<{ id: string; slug: string; revocationVersion: number }[]> {
  return db().certificateAuthority.findMany({ where: { kind: "issuing" }, select: { id: true, slug: true, revocationVersion: true }, orderBy: { createdAt: "asc" } });
}

function refreshLogged(caId: string, log: (line: string) => void, sign = true) {
  refreshCrl(caId, { sign }).catch((e) => log(`[certfleet] CRL refresh for ${caId} failed: ${e instanceof Error ? e.message : String(e)}`));
}

/** A revocation committed in this process: re-sign after a short quiet time (a burst costs one CRL). */
export function onLocalCrlChange(caId: string, log: (line: string) => void) {
  clearTimeout(state.debounce.get(caId));
  const timer = setTimeout(() => {
    state.debounce.delete(caId);
    refreshLogged(caId, log);
  }, DEBOUNCE_MS);
  state.debounce.set(caId, timer);
}

/**
 * The poll's view of every issuing CA (lib/services/revocation-state.ts): loads a CRL another
 * instance stored, signs when the version moved or half the validity passed. Starts the work and
 * returns: a long signing must not hold up the poll that OCSP relies on too.
 */
export function followCrlState(snapshot: RevocationSnapshot, log: (line: string) => void) {
  state.peers = snapshot.peers;
  state.remotePeers = snapshot.remotePeers;
  const now = Date.now();
  for (const ca of snapshot.cas) {
    const known = newestKnown(ca.slug);
    const storedNewer = ca.newestCrlNumber !== null && (!known || ca.newestCrlNumber > known.number);
    const due = needsResign(known ?? null, ca.revocationVersion, now);
    if ((!storedNewer && !due) || state.debounce.has(ca.id)) {
      state.behindSince.delete(ca.id);
      // This process signs when its debounce ends; a CRL another instance stored meanwhile is
      // taken in now all the same (a storm of local revocations keeps moving that end).
      if (storedNewer) refreshLogged(ca.id, log, false);
      continue;
    }
    if (!storedNewer && known && snapshot.peers > 0) {
      if (known.revocationVersion < ca.revocationVersion) {
        const since = state.behindSince.get(ca.id) ?? now;
        state.behindSince.set(ca.id, since);
        if (now - since < REMOTE_GRACE_MS) continue;
      } else if (!known.signedHere && now < halfLife(known) + REMOTE_GRACE_MS) continue;
    }
    state.behindSince.delete(ca.id);
    refreshLogged(ca.id, log);
  }
}

/** Stops the debounce and hold-back timers (server shutdown). */
export function stopCrlTimers() {
  for (const t of state.debounce.values()) clearTimeout(t);
  state.debounce.clear();
  for (const held of state.held.values()) for (const h of held) clearTimeout(h.timer);
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
  stopCrlTimers();
  state.served.clear();
  state.held.clear();
  state.announced.clear();
  state.behindSince.clear();
  state.peers = 0;
  state.remotePeers = 0;
}
