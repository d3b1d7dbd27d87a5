// Bulk rows for benchmarks: devices with certificates whose database fields are realistic
// (unique serials and fingerprints, spread expiries, some revoked). The DER column repeats one
// real certificate: queries never read it, and signing 300,000 certificates would measure the
// seeding, not the inventory.
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { pgTimestamp, sqliteDateTime } from "../lib/db-format";
import { isPostgres } from "../lib/db";
import { config } from "../lib/config";

const DAY = 86_400_000;
const KINDS = ["sensor", "gateway", "meter", "camera"];

export interface SeedOptions {
  caId: string;
  devices: number;
  certsPerDevice: number;
  revokedEvery?: number;
  der: Uint8Array<ArrayBuffer>;
  spki: Uint8Array<ArrayBuffer>;
  prefix?: string;
  log?: (s: string) => void;
}

interface DeviceRow {
  id: string;
  name: string;
  externalId: string;
  currentCertId: string;
  certNotAfter: Date | null;
}
interface CertRow {
  id: string;
  deviceId: string;
  serialHex: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  status: string;
  revokedAt: Date | null;
  revocationReason: number | null;
}
interface TagRow {
  deviceId: string;
  tag: string;
}
interface Batch {
  devices: DeviceRow[];
  certs: CertRow[];
  tags: TagRow[];
}

/** Rows of devices [start, end): the one definition both providers insert. */
function makeBatch(opts: SeedOptions, start: number, end: number, now: number): Batch {
  const prefix = opts.prefix ?? "bench";
  const b: Batch = { devices: [], certs: [], tags: [] };
  for (let i = start; i < end; i++) {
    const id = `${prefix}d${i}`;
    const kind = KINDS[i % KINDS.length];
    let currentId = "";
    let currentNotAfter: Date | null = null;
    for (let k = 0; k < opts.certsPerDevice; k++) {
      const current = k === opts.certsPerDevice - 1;
      const notAfter = new Date(now + ((i * 7919 + k * 31) % 400 - (current ? 20 : 400)) * DAY);
      const revoked = opts.revokedEvery ? (i * opts.certsPerDevice + k) % opts.revokedEvery === 0 : false;
      const certId = `${id}c${k}`;
      b.certs.push({
        id: certId,
        deviceId: id,
        serialHex: "7" + randomBytes(15).toString("hex"),
        subject: `CN=${prefix}-${kind}-${i}`,
        notBefore: new Date(notAfter.getTime() - 365 * DAY),
        notAfter,
        fingerprint: randomBytes(32).toString("hex"),
        status: revoked ? "revoked" : current ? "active" : "superseded",
        revokedAt: revoked ? new Date(now - (i % 30) * DAY) : null,
        revocationReason: revoked ? 1 + (i % 5) : null,
      });
      if (current) {
        currentId = certId;
        currentNotAfter = revoked ? null : notAfter;
      }
    }
    b.devices.push({ id, name: `${prefix}-${kind}-${String(i).padStart(7, "0")}`, externalId: `${prefix.toUpperCase()}-${i}`, currentCertId: currentId, certNotAfter: currentNotAfter });
    b.tags.push({ deviceId: id, tag: kind }, { deviceId: id, tag: `site:${i % 50}` });
  }
  return b;
}

/** Inserts the rows; the caller runs ANALYZE afterwards (as production's autovacuum would). */
export async function seedBulk(opts: SeedOptions) {
  const now = Date.now();
  const pgSeeder = isPostgres() ? new PgSeeder(opts) : null;
  // Two batches in flight on PostgreSQL: one is built here while the server inserts the other.
  const batch = pgSeeder ? 5000 : 2000;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  let done = 0;
  try {
    for (let start = 0; start < opts.devices && !failure; start += batch) {
      const end = Math.min(opts.devices, start + batch);
      const rows = makeBatch(opts, start, end, now);
      if (!pgSeeder) insertSqlite(opts, rows);
      else {
        while (inFlight.size >= PgSeeder.CONNECTIONS) await Promise.race(inFlight);
        const p: Promise<void> = pgSeeder
          .insert(rows)
          .catch((e) => void (failure ??= e))
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      const before = done;
      done = end;
      if (opts.log && Math.floor(before / 20_000) !== Math.floor(done / 20_000)) opts.log(`  seeded ${done} / ${opts.devices} devices`);
    }
  } finally {
    await Promise.all(inFlight);
    await pgSeeder?.close();
  }
  if (failure) throw failure;
}

// ---- SQLite ---------------------------------------------------------------------------------------
// Prisma's createMany runs at a few thousand rows/s on SQLite; seeding 400,000 rows through it
// would dominate the run. Straight better-sqlite3 with prepared statements, in Prisma's own
// storage format (DateTime as ISO-8601 text with "+00:00", Bytes as BLOB).
let sqlite: Database.Database | undefined;
const iso = (d: Date | null) => (d ? sqliteDateTime(d) : null);

function insertSqlite(opts: SeedOptions, b: Batch) {
  sqlite ??= new Database(config().databaseUrl.replace(/^file:/, ""), { timeout: 30_000 });
  const now = iso(new Date());
  const dev = sqlite.prepare('INSERT INTO "Device" (id, name, externalId, status, metadata, certNotAfter, currentCertId, hasPsk, createdAt, updatedAt) VALUES (?, ?, ?, \'active\', \'{}\', ?, ?, 0, ?, ?)');
  const cert = sqlite.prepare(
    'INSERT INTO "Certificate" (id, deviceId, caId, serialHex, profile, subject, sans, notBefore, notAfter, fingerprint, keySource, keyAlgorithm, publicKeyDer, der, status, revokedAt, revocationReason, createdAt) VALUES (?, ?, ?, ?, \'device-client\', ?, \'{}\', ?, ?, ?, \'csr\', \'EC-P256\', ?, ?, ?, ?, ?, ?)',
  );
  const tag = sqlite.prepare('INSERT INTO "DeviceTag" (deviceId, tag) VALUES (?, ?)');
  const spki = Buffer.from(opts.spki);
  const der = Buffer.from(opts.der);
  sqlite.transaction(() => {
    for (const d of b.devices) dev.run(d.id, d.name, d.externalId, iso(d.certNotAfter), d.currentCertId, now, now);
    for (const c of b.certs) cert.run(c.id, c.deviceId, opts.caId, c.serialHex, c.subject, iso(c.notBefore), iso(c.notAfter), c.fingerprint, spki, der, c.status, iso(c.revokedAt), c.revocationReason, now);
    for (const t of b.tags) tag.run(t.deviceId, t.tag);
  })();
}

export function closeSeedConnections() {
  sqlite?.close();
  sqlite = undefined;
}

// ---- PostgreSQL -----------------------------------------------------------------------------------
// Prisma's createMany sends one parameter per value (~1,500 rows/s here: 1,000,000 devices with
// 3,000,000 certificates would take an hour). One INSERT … SELECT FROM unnest(arrays) per table and
// batch sends each column as one array, and the constant columns (DER, SPKI, CA) once. Every
// index, constraint and foreign key stays in place: the database ends as production's would.
// Values in Prisma's PostgreSQL format: DateTime is TIMESTAMP(3) holding UTC, Bytes is BYTEA,
// Boolean is BOOLEAN (see prisma/migrations/postgresql).
const pgTime = (d: Date | null) => (d ? pgTimestamp(d) : null);

const PG_DEVICES = `INSERT INTO "Device" ("id", "name", "externalId", "status", "metadata", "certNotAfter", "currentCertId", "hasPsk", "createdAt", "updatedAt")
  SELECT d.id, d.name, d.ext, 'active', '{}', d.na, d.cur, false, $6::timestamp(3), $6::timestamp(3)
  FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamp(3)[], $5::text[]) AS d(id, name, ext, na, cur)`;
const PG_CERTS = `INSERT INTO "Certificate" ("id", "deviceId", "caId", "serialHex", "profile", "subject", "sans", "notBefore", "notAfter", "fingerprint", "keySource", "keyAlgorithm", "publicKeyDer", "der", "status", "revokedAt", "revocationReason", "createdAt")
  SELECT c.id, c.dev, $11, c.serial, 'device-client', c.subject, '{}', c.nb, c.na, c.fp, 'csr', 'EC-P256', $12::bytea, $13::bytea, c.status, c.ra, c.rr, $14::timestamp(3)
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamp(3)[], $6::timestamp(3)[], $7::text[], $8::text[], $9::timestamp(3)[], $10::int[]) AS c(id, dev, serial, subject, nb, na, fp, status, ra, rr)`;
const PG_TAGS = `INSERT INTO "DeviceTag" ("deviceId", "tag") SELECT * FROM unnest($1::text[], $2::text[])`;

class PgSeeder {
  static readonly CONNECTIONS = 2;
  private readonly pool: pg.Pool;
  private readonly spki: Buffer;
  private readonly der: Buffer;

  constructor(private readonly opts: SeedOptions) {
    this.pool = new pg.Pool({ connectionString: config().databaseUrl, max: PgSeeder.CONNECTIONS });
    // Only this pool's commits skip the WAL flush wait; what they write is the same.
    this.pool.on("connect", (c) => void c.query("SET synchronous_commit = off").catch(() => {}));
    this.spki = Buffer.from(opts.spki);
    this.der = Buffer.from(opts.der);
  }

  async insert(b: Batch) {
    const now = pgTime(new Date());
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      const d = b.devices;
      await c.query(PG_DEVICES, [d.map((x) => x.id), d.map((x) => x.name), d.map((x) => x.externalId), d.map((x) => pgTime(x.certNotAfter)), d.map((x) => x.currentCertId), now]);
      const r = b.certs;
      await c.query(PG_CERTS, [
        r.map((x) => x.id),
        r.map((x) => x.deviceId),
        r.map((x) => x.serialHex),
        r.map((x) => x.subject),
        r.map((x) => pgTime(x.notBefore)),
        r.map((x) => pgTime(x.notAfter)),
        r.map((x) => x.fingerprint),
        r.map((x) => x.status),
        r.map((x) => pgTime(x.revokedAt)),
        r.map((x) => x.revocationReason),
        this.opts.caId,
        this.spki,
        this.der,
        now,
      ]);
      await c.query(PG_TAGS, [b.tags.map((x) => x.deviceId), b.tags.map((x) => x.tag)]);
      await c.query("COMMIT");
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  close() {
    return this.pool.end();
  }
}
