// The operator's device inventory: filters on the denormalised Device columns (certNotAfter,
// currentCertId, hasPsk) so filters and sorts are index ranges at 1,000,000 devices, keyset
// pagination in both directions, and search by prefix (index ranges, not LIKE '%…%' scans).
import { db, isPostgres } from "../db";
import { authorize, type Actor } from "../auth/roles";
import { AppError } from "../errors";
import { effectiveStatus, toCertificateView, type CertificateView } from "./certificates";
import { cursorOf, decodeCursor, encodeCursor, type Cursor } from "./keyset";
import { toPem } from "../pki";
import type { Prisma } from "../generated/sqlite/client";
import type { TCertState, TInventoryFilter, TInventoryQuery } from "../validation/inventory";

const DAY = 86_400_000;

export type CertStateView = TCertState | "expiring";

export interface InventoryRow {
  id: string;
  name: string;
  externalId: string | null;
  status: string;
  tags: string[];
  hasPsk: boolean;
  createdAt: Date;
  certNotAfter: Date | null;
  certState: CertStateView;
  certificate: { id: string; serialHex: string; status: string; notAfter: Date; caId: string; keySource: string } | null;
}

export interface InventoryPage {
  items: InventoryRow[];
  nextCursor: string | null;
  prevCursor: string | null;
  /** Matching devices. Measured: an index-range count, ~5 ms at 100,000 devices. */
  total: number;
}

// ---- the certificate-state predicates (the overview counts use the same ones) -------------------

/** Decommissioned devices had every certificate revoked: they never count as valid or expiring. */
const inService: Prisma.DeviceWhereInput = { status: { not: "decommissioned" } };

export function certStateWhere(state: TCertState, now: Date): Prisma.DeviceWhereInput {
  switch (state) {
    case "valid":
      return { AND: [inService, { certNotAfter: { gt: now } }] };
    case "expired":
      return { AND: [inService, { certNotAfter: { lte: now } }] };
    case "revoked":
      // Revoking the current certificate clears certNotAfter; decommissioning revokes everything.
      return { currentCertId: { not: null }, OR: [{ certNotAfter: null }, { status: "decommissioned" }] };
    case "none":
      return { currentCertId: null };
  }
}

export function expiringWhere(from: Date, to: Date): Prisma.DeviceWhereInput {
  return { AND: [inService, { certNotAfter: { gt: from, lte: to } }] };
}

function startOfUtcDay(day: string): Date {
  const d = new Date(`${day}T00:00:00.000Z`);
  if (Number.isNaN(d.getTime())) throw new AppError("VALIDATION", "Invalid date", [{ path: "from", message: "Invalid date" }]);
  return d;
}

function hexOf(q: string): string | null {
  const hex = q.toLowerCase().replace(/[:\s]/g, "");
  return /^[0-9a-f]{6,}$/.test(hex) ? hex : null;
}

/**
 * "Starts with" as an index range on SQLite (its LIKE is case-insensitive and cannot use the
 * index; a '%q%' scan costs ~30 ms per 100,000 rows, twice per page with the count). PostgreSQL
 * keeps startsWith (LIKE 'q%'): range bounds under a locale collation do not mean "prefix", and
 * the COLLATE "C" indexes of migration device_search_prefix serve it. Prisma passes the value
 * into LIKE unescaped, so "_" and "%" (legal in names) are escaped here to stay literal.
 */
function prefix(q: string): Prisma.StringFilter & Prisma.StringNullableFilter {
  return isPostgres() ? { startsWith: q.replace(/[\\%_]/g, "\\$&") } : { gte: q, lt: `${q}\u{10ffff}` };
}

/**
 * Relation filters (`tags: { some }`, `certificates: { some }`) become correlated EXISTS
 * subqueries, which stop SQLite from combining indexes and cost a probe per device (~200 ms per
 * 100,000 devices, twice per page with the count). So tag, serial and fingerprint matches are
 * looked up first through their own indexes and enter the device query as an id list. Past
 * ID_LIST_LIMIT matches a list stops paying off; then the relation filter is used as is.
 */
// Prisma caps bind parameters per query on SQLite (999): the list must stay well below that.
const ID_LIST_LIMIT = 400;

async function deviceIdsWithTag(tag: string): Promise<string[] | null> {
  const rows = await db().deviceTag.findMany({ where: { tag }, select: { deviceId: true }, orderBy: { tag: "asc" }, take: ID_LIST_LIMIT + 1 });
  return rows.length > ID_LIST_LIMIT ? null : rows.map((r) => r.deviceId);
}

const hexRange = (hex: string) => ({ gte: hex, lt: `${hex}g` }); // hex digits sort below "g"

/**
 * Stored serials keep the leading 0 of their first octet ("073b…") and a 00 pad before a high
 * bit; people paste them with or without either (some tools print the integer, dropping both).
 * A prefix is looked up in each spelling the stored form could have.
 */
function serialPrefixes(hex: string): string[] {
  const bare = hex.replace(/^0+/, "");
  if (bare === "") return [hex];
  const spellings = [bare, `0${bare}`];
  if (/^[89a-f]/.test(bare)) spellings.push(`00${bare}`);
  return spellings;
}

async function deviceIdsWithCertificate(hex: string): Promise<string[]> {
  // Serials are unique per CA: naming the CAs lets the (caId, serialHex) index serve the prefix.
  const caIds = (await db().certificateAuthority.findMany({ select: { id: true } })).map((c) => c.id);
  const found = await Promise.all([
    ...serialPrefixes(hex).map((p) =>
      db().certificate.findMany({ where: { caId: { in: caIds }, serialHex: hexRange(p) }, select: { deviceId: true }, orderBy: [{ caId: "asc" }, { serialHex: "asc" }], take: 100 }),
    ),
    db().certificate.findMany({ where: { fingerprint: hexRange(hex) }, select: { deviceId: true }, orderBy: { fingerprint: "asc" }, take: 100 }),
  ]);
  return [...new Set(found.flat().map((c) => c.deviceId).filter((id): id is string => !!id))];
}

/**
 * Devices whose name or external id starts with one of `variants`, or null past ID_LIST_LIMIT.
 * A narrow prefix as an id list keeps the page query's plan stable: with the OR of two LIKEs,
 * PostgreSQL at 1,000,000 devices sometimes walked the name index in page order filtering every
 * row (0.35 s) instead of probing the prefix indexes (a few ms), depending on the sample ANALYZE
 * drew. A broad prefix matches densely, so the OR form finds its page at once.
 */
async function deviceIdsWithPrefix(variants: string[]): Promise<string[] | null> {
  const lists = await Promise.all(
    variants.flatMap((v) => [
      // No ORDER BY: only which rows match (and whether more than the limit do) matters here.
      db().device.findMany({ where: { name: prefix(v) }, select: { id: true }, take: ID_LIST_LIMIT + 1 }),
      db().device.findMany({ where: { externalId: prefix(v) }, select: { id: true }, take: ID_LIST_LIMIT + 1 }),
    ]),
  );
  if (lists.some((l) => l.length > ID_LIST_LIMIT)) return null;
  return [...new Set(lists.flat().map((d) => d.id))];
}

/** The Prisma filter for an inventory filter (async: tag and certificate matches are resolved first). */
export async function inventoryWhere(f: TInventoryFilter, now = new Date()): Promise<Prisma.DeviceWhereInput> {
  const and: Prisma.DeviceWhereInput[] = [];
  if (f.status) and.push({ status: f.status });
  if (f.cert) and.push(certStateWhere(f.cert, now));
  if (f.within !== undefined) and.push(expiringWhere(now, new Date(now.getTime() + f.within * DAY)));
  if (f.from || f.to) {
    const range: Prisma.DateTimeNullableFilter = {};
    if (f.from) range.gte = startOfUtcDay(f.from);
    if (f.to) range.lt = startOfUtcDay(f.to);
    and.push(inService, { certNotAfter: range });
  }
  if (f.tag) {
    const ids = await deviceIdsWithTag(f.tag);
    and.push(ids ? { id: { in: ids } } : { tags: { some: { tag: f.tag } } });
  }
  if (f.psk) and.push({ hasPsk: f.psk === "yes" });
  // Served by the (estEnrolledBy, name) index: "never" is its NULL range in name order.
  if (f.est) and.push({ estEnrolledBy: f.est === "never" ? null : { not: null } });
  if (f.ca) and.push({ certificates: { some: { status: "active", OR: [{ caId: f.ca }, { ca: { slug: f.ca } }] } } });
  if (f.q) {
    // Name and external id by prefix (index ranges), a tag by its exact name, serial and
    // fingerprint by hex prefix. A tag carried by very many devices is what the operator meant:
    // it then filters like the tag dropdown.
    const variants = [...new Set([f.q, f.q.toLowerCase()])];
    const hex = hexOf(f.q);
    const [tagged, certified] = await Promise.all([deviceIdsWithTag(f.q.toLowerCase()), hex ? deviceIdsWithCertificate(hex) : Promise.resolve([])]);
    if (tagged === null) {
      and.push({ tags: { some: { tag: f.q.toLowerCase() } } });
    } else {
      const ids = [...new Set([...tagged, ...certified])];
      const named = await deviceIdsWithPrefix(variants);
      const all = named && new Set([...named, ...ids]);
      if (all && all.size <= ID_LIST_LIMIT) {
        and.push({ id: { in: [...all] } });
      } else {
        and.push({
          OR: [...variants.map((v) => ({ name: prefix(v) })), ...variants.map((v) => ({ externalId: prefix(v) })), ...(ids.length ? [{ id: { in: ids } }] : [])],
        });
      }
    }
  }
  return and.length ? { AND: and } : {};
}

// ---- keyset pagination ---------------------------------------------------------------------------

type Field = "name" | "certNotAfter" | "createdAt";

const include = { tags: { select: { tag: true }, orderBy: { tag: "asc" } } } as const;
type Row = Prisma.DeviceGetPayload<{ include: typeof include }>;

function keyOf(field: Field, row: Row): Cursor {
  return cursorOf(row[field], row.id);
}

async function fetchOrdered(where: Prisma.DeviceWhereInput, field: Field, sortDir: "asc" | "desc", travel: "fwd" | "back", cursor: Cursor | null, n: number): Promise<Row[]> {
  const nullable = field === "certNotAfter";
  // Traversal order of the phases: forward visits keyed rows then keyless ones; backward the reverse.
  const phases: (0 | 1)[] = !nullable ? [0] : travel === "fwd" ? [0, 1] : [1, 0];
  const startAt = cursor ? phases.indexOf(cursor.p) : 0;
  const rows: Row[] = [];
  for (let i = Math.max(0, startAt); i < phases.length && rows.length < n; i++) {
    const phase = phases[i];
    const atCursor = cursor && i === startAt ? cursor : null;
    const and: Prisma.DeviceWhereInput[] = [where];
    let orderBy: Prisma.DeviceOrderByWithRelationInput[];
    if (phase === 0) {
      const dir = travel === "fwd" ? sortDir : sortDir === "asc" ? "desc" : "asc";
      const op = dir === "asc" ? "gt" : "lt";
      if (nullable) and.push({ certNotAfter: { not: null } });
      if (atCursor) {
        const key = field === "name" ? atCursor.k : new Date(atCursor.k as string);
        and.push({ OR: [{ [field]: { [op]: key } }, { [field]: key, id: { [op]: atCursor.id } }] });
      }
      orderBy = [{ [field]: dir }, { id: dir }];
    } else {
      const dir = travel === "fwd" ? "asc" : "desc";
      and.push({ certNotAfter: null });
      if (atCursor) and.push({ id: { [dir === "asc" ? "gt" : "lt"]: atCursor.id } });
      orderBy = [{ id: dir }];
    }
    rows.push(...(await db().device.findMany({ where: { AND: and }, orderBy, take: n - rows.length, include })));
  }
  return rows;
}

function fieldOf(sort: "name" | "expiry" | "created"): Field {
  return sort === "expiry" ? "certNotAfter" : sort === "created" ? "createdAt" : "name";
}

/**
 * One forward page in ascending `sort` order, for the REST list: the same keyset walk as the
 * dashboard's (devices without a certificate come last in expiry order), without the count.
 */
export async function pageDevices(where: Prisma.DeviceWhereInput, sort: "name" | "expiry" | "created", cursor: string | undefined, limit: number): Promise<{ rows: Row[]; nextCursor: string | null }> {
  const field = fieldOf(sort);
  const rows = await fetchOrdered(where, field, "asc", "fwd", cursor ? decodeCursor(cursor) : null, limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(field, last)) : null };
}

export function certStateOf(d: { status: string; certNotAfter: Date | null; currentCertId: string | null }, now: Date, soonDays = 30): CertStateView {
  if (!d.currentCertId) return "none";
  if (d.status === "decommissioned" || !d.certNotAfter) return "revoked";
  if (d.certNotAfter <= now) return "expired";
  if (d.certNotAfter.getTime() - now.getTime() <= soonDays * DAY) return "expiring";
  return "valid";
}

export async function listInventory(actor: Actor, query: TInventoryQuery): Promise<InventoryPage> {
  authorize(actor, "devices:read");
  const now = new Date();
  const where = await inventoryWhere(query, now);
  const field = fieldOf(query.sort);
  const limit = query.limit;

  // The count runs beside the page's own queries (its own connection) instead of after them.
  const [page, count] = await Promise.all([
    (async () => {
      let items: Row[];
      let hasNext: boolean;
      let hasPrev: boolean;
      if (query.before) {
        const rows = await fetchOrdered(where, field, query.dir, "back", decodeCursor(query.before), limit + 1);
        hasPrev = rows.length > limit;
        items = rows.slice(0, limit).reverse();
        hasNext = true;
      } else {
        const cursor = query.cursor ? decodeCursor(query.cursor) : null;
        const rows = await fetchOrdered(where, field, query.dir, "fwd", cursor, limit + 1);
        hasNext = rows.length > limit;
        items = rows.slice(0, limit);
        hasPrev = cursor !== null;
      }
      const certs = await db().certificate.findMany({
        where: { id: { in: items.map((d) => d.currentCertId).filter((id): id is string => !!id) } },
        select: { id: true, serialHex: true, status: true, notAfter: true, caId: true, keySource: true },
      });
      return { items, hasNext, hasPrev, certs };
    })(),
    countMatching(query, where, now),
  ]);
  const { items, hasNext, hasPrev } = page;
  const byId = new Map(page.certs.map((c) => [c.id, c]));
  const first = items[0];
  const last = items[items.length - 1];
  return {
    items: items.map((d) => {
      const c = d.currentCertId ? byId.get(d.currentCertId) : undefined;
      return {
        id: d.id,
        name: d.name,
        externalId: d.externalId,
        status: d.status,
        tags: d.tags.map((t) => t.tag),
        hasPsk: d.hasPsk,
        createdAt: d.createdAt,
        certNotAfter: d.certNotAfter,
        certState: certStateOf(d, now),
        certificate: c ? { ...c, status: effectiveStatus(c, now) } : null,
      };
    }),
    nextCursor: hasNext && last ? encodeCursor(keyOf(field, last)) : null,
    prevCursor: hasPrev && first ? encodeCursor(keyOf(field, first)) : null,
    total: count,
  };
}

/**
 * The number of devices matching. No `take`: Prisma adds ORDER BY id to a bounded count and sorts
 * every match (170 ms at 100,000 devices). A popular tag is counted from the tag's side: one
 * device probe per tagged device instead of one tag probe per device in the fleet.
 */
async function countMatching(filter: TInventoryFilter, where: Prisma.DeviceWhereInput, now: Date): Promise<number> {
  if (filter.tag && (await deviceIdsWithTag(filter.tag)) === null) {
    const rest = await inventoryWhere({ ...filter, tag: undefined }, now);
    return db().deviceTag.count({ where: { tag: filter.tag, device: rest } });
  }
  return db().device.count({ where });
}

/** Exact number of devices matching a filter (for confirmations of bulk work, not per keystroke). */
export async function countInventory(actor: Actor, filter: TInventoryFilter): Promise<number> {
  authorize(actor, "devices:read");
  const now = new Date();
  return countMatching(filter, await inventoryWhere(filter, now), now);
}

/**
 * Ids of matching devices in name order after `afterName` — the stable order bulk work and the
 * export walk in (renewing or revoking a device never changes its name, so nothing is skipped).
 */
export async function matchingDeviceIds(actor: Actor, filter: TInventoryFilter, afterName: string | null, take: number) {
  authorize(actor, "devices:read");
  const where = await inventoryWhere(filter);
  return db().device.findMany({
    where: afterName === null ? where : { AND: [where, { name: { gt: afterName } }] },
    orderBy: { name: "asc" },
    take,
    select: { id: true, name: true },
  });
}

/**
 * Tags in use, for the filter's suggestions. A GROUP BY reads every DeviceTag row (two per device:
 * 400 ms at 1,000,000 devices on PostgreSQL, on every inventory page view). This walks the tag
 * index instead, one probe per distinct tag ("loose index scan"; same SQL on both providers).
 */
export async function listKnownTags(actor: Actor, limit = 200): Promise<string[]> {
  authorize(actor, "devices:read");
  const rows = await db().$queryRaw<{ tag: string }[]>`
    WITH RECURSIVE t(tag, n) AS (
      SELECT (SELECT "tag" FROM "DeviceTag" ORDER BY "tag" LIMIT 1), 1
      UNION ALL
      SELECT (SELECT "tag" FROM "DeviceTag" WHERE "tag" > t.tag ORDER BY "tag" LIMIT 1), t.n + 1 FROM t WHERE t.tag IS NOT NULL AND t.n < ${limit}
    )
    SELECT tag FROM t WHERE tag IS NOT NULL`;
  return rows.map((r) => r.tag);
}

/** Every certificate of a device, newest first, with its PEM (for the device page's history). */
export async function listDeviceCertificates(actor: Actor, deviceId: string): Promise<(CertificateView & { pem: string })[]> {
  authorize(actor, "certificates:read");
  const rows = await db().certificate.findMany({ where: { deviceId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: 200 });
  return rows.map((r) => ({ ...toCertificateView(r), pem: toPem(r.der, "CERTIFICATE") }));
}

/** Device names by id, for labelling audit events whose details only carry ids and serials. */
export async function deviceNames(actor: Actor, ids: string[]): Promise<Record<string, string>> {
  authorize(actor, "devices:read");
  const unique = [...new Set(ids)].slice(0, 500);
  if (!unique.length) return {};
  const rows = await db().device.findMany({ where: { id: { in: unique } }, select: { id: true, name: true } });
  return Object.fromEntries(rows.map((r) => [r.id, r.name]));
}
