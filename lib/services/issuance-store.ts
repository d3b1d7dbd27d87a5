// The writer behind the issuance group commit (issuance-queue.ts): one transaction per batch —
// certificate rows, device pointers, distribution points, audit events and the audit head — with
// cached statements on a direct driver connection (lib/db.ts says why not Prisma here).
// It must write exactly what Prisma would: same columns, defaults and @updatedAt, and Prisma's
// storage format — SQLite: DateTime as ISO-8601 text with "+00:00", Bytes as BLOB; PostgreSQL:
// TIMESTAMP(3) holding UTC, BYTEA. tests/integration/issuance-store.test.ts reads the rows back
// through Prisma on both providers to hold it to that.
import type Database from "better-sqlite3";
import type pg from "pg";
import { isPostgres, pgDirect, sqliteDirect } from "../db";
import { AppError } from "../errors";
import { chainAuditEvents, GENESIS_HASH, type AuditEntry, type AuditRow } from "./audit";
import type { Prisma } from "../generated/sqlite/client";

export type CertificateRow = Prisma.CertificateGetPayload<object>;

/** A signed certificate's row, id chosen by the caller (the audit event names it before insert). */
export interface NewCertificateRow {
  id: string;
  deviceId: string;
  caId: string;
  serialHex: string;
  profile: string;
  subject: string;
  sans: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  keySource: string;
  keyAlgorithm: string;
  publicKeyDer: Uint8Array<ArrayBuffer>;
  der: Uint8Array<ArrayBuffer>;
}

export interface IssuedItem {
  row: NewCertificateRow;
  audit: AuditEntry;
  /** The CA's CRL URL written into this certificate, and the CA's distribution points as last seen. */
  crlUrl: string;
  knownCrlUris: string[];
}

/**
 * Commits a batch atomically: every certificate or none. Throws INVALID_STATE when a device is
 * no longer active (a decommission that committed first wins) and lets unique violations (serial
 * collisions, see isSerialCollision) through, so the queue can retry members one by one.
 */
export async function storeIssuedBatch(batch: IssuedItem[]): Promise<Map<string, CertificateRow>> {
  const now = new Date();
  if (isPostgres()) await storePg(batch, now);
  else await storeSqlite(batch, now);
  return new Map(batch.map((b) => [b.row.id, { ...b.row, status: "active", revokedAt: null, revocationReason: null, supersededById: null, createdAt: now }]));
}

/** A unique-index violation on (caId, serialHex), from Prisma or from the direct drivers. */
export function isSerialCollision(e: unknown): boolean {
  const err = e as { code?: string; meta?: unknown; message?: string; constraint?: string };
  if (err?.code === "P2002") return String(JSON.stringify(err.meta ?? "")).includes("serial");
  if (err?.code === "SQLITE_CONSTRAINT_UNIQUE") return /serialHex/.test(err.message ?? "");
  if (err?.code === "23505") return /serialHex/.test(err.constraint ?? "");
  return false;
}

/** Every distribution point ever written stays in the CRL's IDP (BROKERS.md): the CA's list only grows. */
export function missingDistributionPoints(batch: Pick<IssuedItem, "crlUrl" | "knownCrlUris" | "row">[]): Map<string, Set<string>> {
  const missing = new Map<string, Set<string>>();
  for (const b of batch) if (!b.knownCrlUris.includes(b.crlUrl)) (missing.get(b.row.caId) ?? missing.set(b.row.caId, new Set()).get(b.row.caId)!).add(b.crlUrl);
  return missing;
}

/**
 * The device fields issuance needs (name for the subject, status), read on the writer's
 * connection: a cached statement instead of a Prisma query on the hot path. The commit checks
 * the status again, so a change in between is still caught.
 */
export async function findDeviceForIssuance(id: string): Promise<{ id: string; name: string; status: string } | null> {
  if (isPostgres()) {
    const { rows } = await pgDirect().query<{ id: string; name: string; status: string }>({ name: "certfleet-device-for-issuance", text: 'SELECT "id", "name", "status" FROM "Device" WHERE "id" = $1', values: [id] });
    return rows[0] ?? null;
  }
  const conn = sqliteDirect();
  return (sqliteStatements(conn).deviceState.get(id) as { id: string; name: string; status: string } | undefined) ?? null;
}

const deviceGone = () => new AppError("INVALID_STATE", "The device is no longer active");

// ---------------------------------------------------------------------------------------------
// SQLite

const iso = (d: Date) => d.toISOString().replace("Z", "+00:00");

interface SqliteStatements {
  certificate: Database.Statement;
  device: Database.Statement;
  head: Database.Statement;
  setHead: Database.Statement;
  event: Database.Statement;
  caUris: Database.Statement;
  deviceState: Database.Statement;
  setCaUris: Database.Statement;
  commit: (batch: IssuedItem[], now: Date) => void;
}

const prepared = new WeakMap<Database.Database, SqliteStatements>();

function sqliteStatements(conn: Database.Database): SqliteStatements {
  let s = prepared.get(conn);
  if (s) return s;
  s = {
    certificate: conn.prepare(
      'INSERT INTO "Certificate" (id, deviceId, caId, serialHex, profile, subject, sans, notBefore, notAfter, fingerprint, keySource, keyAlgorithm, publicKeyDer, der, status, createdAt) ' +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
    ),
    device: conn.prepare('UPDATE "Device" SET currentCertId = ?, certNotAfter = ?, updatedAt = ? WHERE id = ? AND status = \'active\''),
    head: conn.prepare('SELECT seq, hash FROM "AuditHead" WHERE id = 1'),
    setHead: conn.prepare('INSERT INTO "AuditHead" (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash'),
    event: conn.prepare('INSERT INTO "AuditEvent" (seq, at, actor, actorLabel, action, targetType, targetId, details, prevHash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    caUris: conn.prepare('SELECT crlUris FROM "CertificateAuthority" WHERE id = ?'),
    deviceState: conn.prepare('SELECT id, name, status FROM "Device" WHERE id = ?'),
    setCaUris: conn.prepare('UPDATE "CertificateAuthority" SET crlUris = ?, revocationVersion = revocationVersion + 1, updatedAt = ? WHERE id = ?'),
    commit: () => undefined,
  };
  const st = s;
  st.commit = conn.transaction((batch: IssuedItem[], now: Date) => {
    const at = iso(now);
    for (const { row: r } of batch) {
      st.certificate.run(r.id, r.deviceId, r.caId, r.serialHex, r.profile, r.subject, r.sans, iso(r.notBefore), iso(r.notAfter), r.fingerprint, r.keySource, r.keyAlgorithm, r.publicKeyDer, r.der, at);
      // In batch order, so when one device appears twice the later certificate is its current one.
      if (st.device.run(r.id, iso(r.notAfter), at, r.deviceId).changes !== 1) throw deviceGone();
    }
    for (const [caId, urls] of missingDistributionPoints(batch)) {
      const current = st.caUris.get(caId) as { crlUris: string } | undefined;
      const uris = JSON.parse(current?.crlUris ?? "[]") as string[];
      const added = [...urls].filter((u) => !uris.includes(u));
      // A new distribution point must appear in the CRL's IDP at once: bumping the version re-signs it.
      if (added.length) st.setCaUris.run(JSON.stringify([...uris, ...added]), at, caId);
    }
    const head = (st.head.get() as { seq: number | bigint; hash: string } | undefined) ?? { seq: 0, hash: GENESIS_HASH };
    const seq = Number(head.seq) + batch.length;
    const { rows, headHash } = chainAuditEvents({ seq, hash: head.hash }, batch.map((b) => b.audit), now);
    for (const e of rows) st.event.run(e.seq, at, e.actor, e.actorLabel, e.action, e.targetType, e.targetId, e.details, e.prevHash, e.hash);
    st.setHead.run(seq, headHash);
  }).immediate as SqliteStatements["commit"];
  prepared.set(conn, st);
  return st;
}

const BUSY_DEADLINE_MS = 30_000;

async function storeSqlite(batch: IssuedItem[], now: Date) {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      // BEGIN IMMEDIATE ... COMMIT in one synchronous call: the write lock is never held across an
      // await, so Prisma's statements in this process never wait on it.
      sqliteStatements(sqliteDirect()).commit(batch, now);
      return;
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (!code.startsWith("SQLITE_BUSY") || Date.now() - started > BUSY_DEADLINE_MS) throw e;
      // Another connection (a Prisma transaction here, the CLI, another instance) holds the lock.
      await new Promise((r) => setTimeout(r, Math.min(2 + attempt * 2, 25)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: one round trip per table, arrays through unnest.

// Prisma's TIMESTAMP(3) columns hold UTC wall time; ISO text without the zone casts to exactly that.
const ts = (d: Date) => d.toISOString().slice(0, 23);

const PG_INSERT_CERTIFICATES = `
INSERT INTO "Certificate" ("id", "deviceId", "caId", "serialHex", "profile", "subject", "sans", "notBefore", "notAfter", "fingerprint", "keySource", "keyAlgorithm", "publicKeyDer", "der", "status", "createdAt")
SELECT t.*, 'active', $15::timestamp(3)
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamp(3)[], $9::timestamp(3)[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bytea[]) AS t`;

const PG_POINT_DEVICES = `
UPDATE "Device" AS d SET "currentCertId" = v.cert, "certNotAfter" = v.not_after, "updatedAt" = $4::timestamp(3)
FROM unnest($1::text[], $2::text[], $3::timestamp(3)[]) AS v(id, cert, not_after)
WHERE d."id" = v.id AND d."status" = 'active'`;

// Takes the head's row lock (as appendAuditMany's upsert does), so appends from every path serialise.
const PG_MOVE_HEAD = `
INSERT INTO "AuditHead" ("id", "seq", "hash") VALUES (1, $1, $2)
ON CONFLICT ("id") DO UPDATE SET "seq" = "AuditHead"."seq" + EXCLUDED."seq"
RETURNING "seq", "hash"`;

const PG_INSERT_EVENTS = `
INSERT INTO "AuditEvent" ("seq", "at", "actor", "actorLabel", "action", "targetType", "targetId", "details", "prevHash", "hash")
SELECT t.seq, $2::timestamp(3), t.actor, t.label, t.action, t.ttype, t.tid, t.details, t.prev, t.hash
FROM unnest($1::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) AS t(seq, actor, label, action, ttype, tid, details, prev, hash)`;

async function storePg(batch: IssuedItem[], now: Date) {
  const client = await pgDirect().connect();
  try {
    await client.query("BEGIN");
    await writePg(client, batch, now);
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

async function writePg(client: pg.PoolClient, batch: IssuedItem[], now: Date) {
  const rows = batch.map((b) => b.row);
  const col = <K extends keyof NewCertificateRow>(k: K) => rows.map((r) => r[k]);
  await client.query(PG_INSERT_CERTIFICATES, [
    col("id"),
    col("deviceId"),
    col("caId"),
    col("serialHex"),
    col("profile"),
    col("subject"),
    col("sans"),
    rows.map((r) => ts(r.notBefore)),
    rows.map((r) => ts(r.notAfter)),
    col("fingerprint"),
    col("keySource"),
    col("keyAlgorithm"),
    rows.map((r) => Buffer.from(r.publicKeyDer)),
    rows.map((r) => Buffer.from(r.der)),
    ts(now),
  ]);
  // One pointer per device, the batch's last certificate for it (an UPDATE … FROM with two rows
  // for one device would pick either).
  const latest = new Map(rows.map((r) => [r.deviceId, r]));
  const pointed = await client.query(PG_POINT_DEVICES, [[...latest.keys()], [...latest.values()].map((r) => r.id), [...latest.values()].map((r) => ts(r.notAfter)), ts(now)]);
  if (pointed.rowCount !== latest.size) throw deviceGone();

  for (const [caId, urls] of missingDistributionPoints(batch)) {
    const { rows: ca } = await client.query<{ crlUris: string }>('SELECT "crlUris" FROM "CertificateAuthority" WHERE "id" = $1 FOR UPDATE', [caId]);
    const uris = JSON.parse(ca[0]?.crlUris ?? "[]") as string[];
    const added = [...urls].filter((u) => !uris.includes(u));
    if (added.length) {
      await client.query('UPDATE "CertificateAuthority" SET "crlUris" = $1, "revocationVersion" = "revocationVersion" + 1, "updatedAt" = $2::timestamp(3) WHERE "id" = $3', [JSON.stringify([...uris, ...added]), ts(now), caId]);
    }
  }

  const moved = await client.query<{ seq: number; hash: string }>(PG_MOVE_HEAD, [batch.length, GENESIS_HASH]);
  const { rows: events, headHash } = chainAuditEvents(moved.rows[0], batch.map((b) => b.audit), now);
  const ev = <K extends keyof AuditRow>(k: K) => events.map((e) => e[k]);
  await client.query(PG_INSERT_EVENTS, [ev("seq"), ts(now), ev("actor"), ev("actorLabel"), ev("action"), ev("targetType"), ev("targetId"), ev("details"), ev("prevHash"), ev("hash")]);
  await client.query('UPDATE "AuditHead" SET "hash" = $1 WHERE "id" = 1', [headHash]);
}
