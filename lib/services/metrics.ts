// Prometheus metrics (GET /metrics, lib/http/metrics.ts). Two kinds, kept apart on purpose:
// - Process metrics: counters and histograms this process counts (issuance, revocation, EST,
//   OCSP, broker HTTP timings, notification deliveries) on prom-client's default registry, so a
//   cluster primary can sum the workers' with prom-client's AggregatorRegistry. How the handler
//   obtains them is injectable (setProcessMetricsSource) for exactly that.
// - Fleet gauges: computed from the database once per scrape by the process that answers it,
//   into a registry of their own — never summed across workers (each would count the same rows).
//   Every query is one aggregate served by an index; see bench/metrics.ts for the 1M-device line.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, register } from "prom-client";
import { Prisma } from "../generated/sqlite/client";
import { db, isPostgres } from "../db";
import { config } from "../config";

/** Devices whose current certificate expires within these many days: one series each. */
export const EXPIRY_WINDOWS_DAYS = [1, 7, 30, 90] as const;
const DAY_MS = 86_400_000;

interface ProcessMetrics {
  registry: Registry;
  issuance: Counter<"outcome">;
  renewal: Counter<"outcome">;
  revocation: Counter<"reason">;
  est: Counter<"operation" | "outcome">;
  ocspResponses: Counter<"status">;
  ocspCache: Counter<"result">;
  brokerHttp: Histogram<"endpoint" | "method" | "code">;
  deliveries: Counter<"channel_kind" | "outcome">;
  alertEvaluations: Counter;
}

// On globalThis: the custom server (tsx) and Next's bundle load separate copies of lib/ (see
// lib/events.ts). Whichever copy comes first creates the metrics; both count into the same ones.
const g = globalThis as unknown as {
  __certfleetMetrics?: ProcessMetrics;
  __certfleetMetricsSource?: () => Promise<string>;
  __certfleetBrokerHttpChildren?: Map<string, { observe(seconds: number): void }>;
};

function createProcessMetrics(): ProcessMetrics {
  const registers = [register];
  collectDefaultMetrics({ register });
  return {
    registry: register,
    issuance: new Counter({ name: "certfleet_certificates_issued_total", help: "Certificate issuances (new certificates, renewals and EST enrollments) by outcome: success | failure", labelNames: ["outcome"], registers }),
    renewal: new Counter({ name: "certfleet_certificate_renewals_total", help: "Renewals and EST re-enrollments by outcome: success | conflict (the old certificate was no longer active)", labelNames: ["outcome"], registers }),
    revocation: new Counter({ name: "certfleet_certificates_revoked_total", help: "Certificates revoked, by RFC 5280 reason name", labelNames: ["reason"], registers }),
    est: new Counter({ name: "certfleet_est_requests_total", help: "EST enrollments by operation (simpleenroll | simplereenroll | serverkeygen) and outcome: success | refused | error", labelNames: ["operation", "outcome"], registers }),
    ocspResponses: new Counter({ name: "certfleet_ocsp_responses_total", help: "OCSP responses by status: good | revoked | unknown | multiple, or the error status (malformedRequest, unauthorized, internalError, …)", labelNames: ["status"], registers }),
    ocspCache: new Counter({ name: "certfleet_ocsp_cache_total", help: "OCSP answers served from the pre-signed cache (hit) or signed for the request (miss)", labelNames: ["result"], registers }),
    brokerHttp: new Histogram({
      name: "certfleet_broker_http_request_duration_seconds",
      help: "Time to answer broker endpoints (crl, ca, ocsp, psk-file, est, metrics, broker-auth) by method and status code",
      labelNames: ["endpoint", "method", "code"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    deliveries: new Counter({ name: "certfleet_notification_deliveries_total", help: "Notification delivery attempts by channel kind (webhook | email) and outcome: success | failure", labelNames: ["channel_kind", "outcome"], registers }),
    alertEvaluations: new Counter({ name: "certfleet_alert_evaluations_total", help: "Evaluations of the notification rules this process ran", registers }),
  };
}

/** This process's counters and histograms (created once per process). */
export function processMetrics(): ProcessMetrics {
  return (g.__certfleetMetrics ??= createProcessMetrics());
}

/**
 * Where the handler gets the process metrics text: this process's registry by default; a cluster
 * primary can hand in AggregatorRegistry's sum of its workers instead.
 */
export function setProcessMetricsSource(source: (() => Promise<string>) | null): void {
  g.__certfleetMetricsSource = source ?? undefined;
}

export const METRICS_CONTENT_TYPE = register.contentType;

/**
 * One broker request answered outside lib/http/router.ts (the cached-OCSP fast path in
 * lib/http/pki.ts), timed from `startedNs` (process.hrtime.bigint()). The labelled child is looked
 * up once per label set, so a hit costs one observe.
 */
export function observeBrokerRequest(endpoint: string, method: string, code: number, startedNs: bigint): void {
  const key = `${endpoint} ${method} ${code}`;
  const children = (g.__certfleetBrokerHttpChildren ??= new Map());
  let child = children.get(key);
  if (!child) children.set(key, (child = processMetrics().brokerHttp.labels({ endpoint, method, code: String(code) })));
  child.observe(Number(process.hrtime.bigint() - startedNs) / 1e9);
}

/** One OCSP answer sent: its status and whether it came from the pre-signed cache. */
export function countOcspAnswer(answer: { status?: string }, cache: "hit" | "miss"): void {
  const m = processMetrics();
  m.ocspResponses.inc({ status: answer.status ?? "unknown" });
  m.ocspCache.inc({ result: cache });
}

/** Records one use case's outcome around its promise; the result or error passes through unchanged. */
export async function countOutcome<T>(
  record: (outcome: string) => void,
  work: Promise<T>,
  outcomeOf: (result: T) => string = () => "success",
  failureOf: (error: unknown) => string = () => "failure",
): Promise<T> {
  try {
    const result = await work;
    record(outcomeOf(result));
    return result;
  } catch (e) {
    record(failureOf(e));
    throw e;
  }
}

// ---- Fleet gauges (database) --------------------------------------------------------------------

/** Rows of an aggregate query; counts come back as bigint (PostgreSQL) or number (SQLite). */
type Row = Record<string, unknown>;
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const seconds = (v: unknown) => (v === null || v === undefined ? null : (v instanceof Date ? v : new Date(String(v))).getTime() / 1000);

/**
 * A time parameter for raw comparisons, as lib/services/crl.ts passes them: PostgreSQL's
 * timestamp(3) holds UTC wall time; the SQLite adapter writes a Date in its stored ISO format.
 */
function at(d: Date): Prisma.Sql {
  return isPostgres() ? Prisma.sql`${d.toISOString()}::timestamp` : Prisma.sql`${d}`;
}

const horizonOf = (now: Date) => new Date(now.getTime() + Math.max(...EXPIRY_WINDOWS_DAYS) * DAY_MS);

/** "w1", "w7", … : how many of the rows have `column` before now + that many days. */
function windowCounts(column: Prisma.Sql, now: Date): Prisma.Sql {
  return Prisma.join(
    EXPIRY_WINDOWS_DAYS.map((d) => Prisma.sql`SUM(CASE WHEN ${column} < ${at(new Date(now.getTime() + d * DAY_MS))} THEN 1 ELSE 0 END) AS ${Prisma.raw(`"w${d}"`)}`),
    ", ",
  );
}

const windowRows = <K extends string>(rows: Row[], key: K) => rows.flatMap((r) => EXPIRY_WINDOWS_DAYS.map((d) => ({ [key]: String(r[key]), windowDays: d, count: num(r[`w${d}`]) }) as { windowDays: number; count: number } & Record<K, string>));

export interface FleetSnapshot {
  cas: { id: string; slug: string; kind: string; notAfter: Date }[];
  certificates: { caId: string; state: string; count: number }[];
  expiring: { caId: string; windowDays: number; count: number }[];
  expiringByTag: { tag: string; windowDays: number; count: number }[];
  earliestExpiry: { caId: string; notAfter: Date }[];
  crls: { caId: string; number: bigint; thisUpdate: Date; nextUpdate: Date; sizeBytes: number; entryCount: number }[];
  responders: { caId: string; notAfter: Date }[];
  devices: { status: string; count: number }[];
  /** When certificates and devices were counted (see fleetTotals). */
  totalsAt: Date;
  brokerTokens: { name: string; lastUsedAt: Date | null }[];
}

interface FleetTotals {
  at: Date;
  tags: string;
  certificates: FleetSnapshot["certificates"];
  devices: FleetSnapshot["devices"];
  expiringByTag: FleetSnapshot["expiringByTag"];
}

/** Totals are recounted at most this often; a scrape in between is answered from the last count. */
export const TOTALS_MAX_AGE_MS = 60_000;
const totalsState = ((globalThis as unknown as { __certfleetFleetTotals?: { last: FleetTotals | null; running: Promise<FleetTotals> | null; url: string } }).__certfleetFleetTotals ??= {
  last: null,
  running: null,
  url: "",
});

async function countFleetTotals(now: Date, tags: string[]): Promise<FleetTotals> {
  const client = db();
  const [states, devices, byTag] = await Promise.all([
    // Index (status, caId, notAfter, …): an index-only count; "expired" is derived, never stored.
    client.$queryRaw<Row[]>`SELECT "status", "caId", COUNT(*) AS "n", SUM(CASE WHEN "notAfter" <= ${at(now)} THEN 1 ELSE 0 END) AS "expired"
      FROM "Certificate" GROUP BY "status", "caId"`,
    client.$queryRaw<Row[]>`SELECT "status", COUNT(*) AS "n" FROM "Device" GROUP BY "status"`,
    // A tag can hold most of the fleet: its devices are visited one by one (~0.4 s for 250,000).
    tags.length
      ? client.$queryRaw<Row[]>`SELECT t."tag", ${windowCounts(Prisma.sql`d."certNotAfter"`, now)} FROM "DeviceTag" t JOIN "Device" d ON d."id" = t."deviceId"
          WHERE t."tag" IN (${Prisma.join(tags)}) AND d."status" <> 'decommissioned' AND d."certNotAfter" > ${at(now)} AND d."certNotAfter" <= ${at(horizonOf(now))} GROUP BY t."tag"`
      : Promise.resolve([] as Row[]),
  ]);
  const certificates: FleetSnapshot["certificates"] = [];
  for (const r of states) {
    const expired = r.status === "active" ? num(r.expired) : 0;
    certificates.push({ caId: String(r.caId), state: String(r.status), count: num(r.n) - expired });
    if (r.status === "active") certificates.push({ caId: String(r.caId), state: "expired", count: expired });
  }
  return { at: now, tags: tags.join(","), certificates, devices: devices.map((r) => ({ status: String(r.status), count: num(r.n) })), expiringByTag: windowRows(byTag, "tag") };
}

/**
 * Certificates by state and devices by status count every row (3M index entries at 1M devices:
 * ~0.3-1 s on PostgreSQL), the tag windows visit each tagged device; all move slowly: counted at
 * most once a minute, in the background once a first count exists, so a scrape never waits for
 * them after the first.
 */
async function fleetTotals(now: Date, tags: string[]): Promise<FleetTotals> {
  const url = config().databaseUrl;
  if (totalsState.url !== url || totalsState.last?.tags !== tags.join(",")) Object.assign(totalsState, { last: null, running: null, url });
  const refresh = () => {
    totalsState.running ??= countFleetTotals(now, tags)
      .then((t) => (totalsState.last = t))
      .finally(() => (totalsState.running = null));
    return totalsState.running;
  };
  const last = totalsState.last;
  if (!last) return refresh();
  if (now.getTime() - last.at.getTime() > TOTALS_MAX_AGE_MS) refresh().catch((e) => console.error("[certfleet] metrics: counting the fleet failed:", e instanceof Error ? e.message : e));
  return last;
}

/**
 * One read of everything the gauges show. `tags` bounds the tag dimension to the tags an operator
 * named (CERTFLEET_METRICS_TAGS): a label per free-form tag would be unbounded.
 */
export async function readFleetSnapshot(now = new Date(), tags: string[] = []): Promise<FleetSnapshot> {
  const client = db();
  const horizon = horizonOf(now);
  const cas = await client.certificateAuthority.findMany({ select: { id: true, slug: true, kind: true, notAfter: true }, orderBy: { createdAt: "asc" } });
  const [totals, expiring, crls, responders, brokerTokens] = await Promise.all([
    fleetTotals(now, tags),
    // One query per CA, so the index (status, caId, notAfter, deviceId) gives an index-only range
    // of exactly the 90-day window (a GROUP BY "caId" would walk every active entry). The device's
    // current certificate is its one active certificate (renewal supersedes, revocation revokes).
    Promise.all(
      cas.map((ca) =>
        client.$queryRaw<Row[]>`SELECT ${windowCounts(Prisma.sql`"notAfter"`, now)} FROM "Certificate"
          WHERE "status" = 'active' AND "caId" = ${ca.id} AND "notAfter" > ${at(now)} AND "notAfter" <= ${at(horizon)} AND "deviceId" IS NOT NULL`.then((rows): Row => ({ ...rows[0], caId: ca.id })),
      ),
    ),
    client.$queryRaw<Row[]>`SELECT c."caId", c."number", c."thisUpdate", c."nextUpdate", c."sizeBytes", c."entryCount" FROM "Crl" c
      WHERE c."number" = (SELECT MAX(m."number") FROM "Crl" m WHERE m."caId" = c."caId")`,
    client.ocspResponder.findMany({ where: { status: "active" }, select: { caId: true, notAfter: true } }),
    client.apiToken.findMany({ where: { role: "broker", revokedAt: null }, select: { name: true, lastUsedAt: true }, orderBy: { name: "asc" } }),
  ]);
  // The earliest expiry per CA: one ordered index probe each (status, caId, notAfter), not a scan.
  const earliest = await Promise.all(
    cas.map((ca) =>
      client.certificate.findFirst({ where: { status: "active", caId: ca.id, notAfter: { gt: now } }, orderBy: { notAfter: "asc" }, select: { notAfter: true } }).then((c) => (c ? { caId: ca.id, notAfter: c.notAfter } : null)),
    ),
  );
  return {
    cas,
    certificates: totals.certificates,
    totalsAt: totals.at,
    expiring: windowRows(expiring, "caId"),
    expiringByTag: totals.expiringByTag,
    earliestExpiry: earliest.filter((e): e is NonNullable<typeof e> => e !== null),
    crls: crls.map((r) => ({ caId: String(r.caId), number: BigInt(r.number as bigint | number), thisUpdate: new Date(seconds(r.thisUpdate)! * 1000), nextUpdate: new Date(seconds(r.nextUpdate)! * 1000), sizeBytes: num(r.sizeBytes), entryCount: num(r.entryCount) })),
    responders,
    devices: totals.devices,
    brokerTokens,
  };
}

/** The fleet gauges as exposition text, in a registry made for this one scrape. */
export async function fleetMetricsText(now = new Date(), tags: string[] = []): Promise<string> {
  const started = performance.now();
  const snap = await readFleetSnapshot(now, tags);
  const registry = new Registry();
  const registers = [registry];
  const slug = new Map(snap.cas.map((c) => [c.id, c.slug]));
  const caOf = (id: string) => slug.get(id) ?? id;

  const certs = new Gauge({ name: "certfleet_certificates", help: "Certificates by state (active | expired | superseded | revoked) and issuing CA (recounted at most once a minute)", labelNames: ["ca", "state"], registers });
  for (const c of snap.certificates) certs.inc({ ca: caOf(c.caId), state: c.state }, c.count);

  const expiring = new Gauge({ name: "certfleet_devices_expiring", help: "Devices whose current certificate is still valid and expires within window_days (1, 7, 30, 90), per issuing CA", labelNames: ["ca", "window_days"], registers });
  for (const ca of snap.cas.filter((c) => c.kind === "issuing")) for (const d of EXPIRY_WINDOWS_DAYS) expiring.set({ ca: ca.slug, window_days: String(d) }, 0);
  for (const e of snap.expiring) expiring.set({ ca: caOf(e.caId), window_days: String(e.windowDays) }, e.count);

  if (tags.length) {
    const byTag = new Gauge({ name: "certfleet_devices_expiring_by_tag", help: "As certfleet_devices_expiring, per device tag named in CERTFLEET_METRICS_TAGS (recounted at most once a minute)", labelNames: ["tag", "window_days"], registers });
    for (const t of tags) for (const d of EXPIRY_WINDOWS_DAYS) byTag.set({ tag: t, window_days: String(d) }, 0);
    for (const e of snap.expiringByTag) byTag.set({ tag: e.tag, window_days: String(e.windowDays) }, e.count);
  }

  const earliest = new Gauge({ name: "certfleet_certificate_earliest_expiry_timestamp_seconds", help: "notAfter of the soonest-expiring active, still valid certificate per issuing CA (Unix time)", labelNames: ["ca"], registers });
  for (const e of snap.earliestExpiry) earliest.set({ ca: caOf(e.caId) }, e.notAfter.getTime() / 1000);

  const caNotAfter = new Gauge({ name: "certfleet_ca_certificate_not_after_timestamp_seconds", help: "notAfter of each CA's own certificate (Unix time)", labelNames: ["ca", "kind"], registers });
  for (const ca of snap.cas) caNotAfter.set({ ca: ca.slug, kind: ca.kind }, ca.notAfter.getTime() / 1000);

  const crlNumber = new Gauge({ name: "certfleet_crl_number", help: "CRL number of the newest CRL per CA", labelNames: ["ca"], registers });
  const crlThis = new Gauge({ name: "certfleet_crl_this_update_timestamp_seconds", help: "thisUpdate of the newest CRL per CA (Unix time)", labelNames: ["ca"], registers });
  const crlNext = new Gauge({ name: "certfleet_crl_next_update_timestamp_seconds", help: "nextUpdate of the newest CRL per CA (Unix time): brokers refuse clients once it has passed", labelNames: ["ca"], registers });
  const crlSize = new Gauge({ name: "certfleet_crl_size_bytes", help: "Size of the newest CRL per CA (DER bytes)", labelNames: ["ca"], registers });
  const crlEntries = new Gauge({ name: "certfleet_crl_entries", help: "Entries of the newest CRL per CA", labelNames: ["ca"], registers });
  for (const c of snap.crls) {
    const labels = { ca: caOf(c.caId) };
    crlNumber.set(labels, Number(c.number));
    crlThis.set(labels, c.thisUpdate.getTime() / 1000);
    crlNext.set(labels, c.nextUpdate.getTime() / 1000);
    crlSize.set(labels, c.sizeBytes);
    crlEntries.set(labels, c.entryCount);
  }

  const responder = new Gauge({ name: "certfleet_ocsp_responder_not_after_timestamp_seconds", help: "notAfter of each CA's active OCSP responder certificate (Unix time; renewed automatically before expiry)", labelNames: ["ca"], registers });
  for (const r of snap.responders) responder.set({ ca: caOf(r.caId) }, r.notAfter.getTime() / 1000);

  const devices = new Gauge({ name: "certfleet_devices", help: "Devices by status (active | disabled | decommissioned; recounted at most once a minute)", labelNames: ["status"], registers });
  for (const d of snap.devices) devices.set({ status: d.status }, d.count);

  const broker = new Gauge({
    name: "certfleet_broker_token_last_seen_timestamp_seconds",
    help: "Last authenticated request of each live broker token (broker-sync's PSK file fetch; resolution 1 minute), Unix time; 0 = never used",
    labelNames: ["token"],
    registers,
  });
  for (const t of snap.brokerTokens) broker.set({ token: t.name }, t.lastUsedAt ? t.lastUsedAt.getTime() / 1000 : 0);

  new Gauge({ name: "certfleet_fleet_totals_age_seconds", help: "Age of the counts in certfleet_certificates, certfleet_devices and certfleet_devices_expiring_by_tag (recounted at most once a minute)", registers }).set((now.getTime() - snap.totalsAt.getTime()) / 1000);
  new Gauge({ name: "certfleet_metrics_fleet_query_seconds", help: "Time this scrape spent reading the fleet gauges from the database", registers }).set((performance.now() - started) / 1000);
  return registry.metrics();
}

/** The full /metrics body: process metrics (possibly summed over workers) and the fleet gauges. */
export async function metricsText(tags: string[] = []): Promise<string> {
  const source = g.__certfleetMetricsSource ?? (() => processMetrics().registry.metrics());
  const [processText, fleetText] = await Promise.all([source(), fleetMetricsText(new Date(), tags)]);
  return `${processText.trimEnd()}\n${fleetText}`;
}
