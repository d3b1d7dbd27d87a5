// The writer behind the issuance group commit (issuance.ts): one transaction per batch —
// certificate rows, device pointers, distribution points, audit events and the audit head — with
// cached statements on a direct driver connection (lib/db.ts says why not Prisma here).
// It must write exactly what Prisma would: same columns, defaults and @updatedAt, and Prisma's
// storage format — SQLite: DateTime as ISO-8601 text with "+00:00", Bytes as BLOB; PostgreSQL:
// TIMESTAMP(3) holding UTC, BYTEA. tests/integration/issuance-store.test.ts reads the rows back
// through Prisma on both providers to hold it to that.
import { existsSync } from "node:fs";
import path from "node:path";
import type pg from "pg";
import { config } from "../config";
import { isPostgres, pgDirect, sqliteDirect } from "../db";
import { AppError, type ErrorCode } from "../errors";
import { chainAuditEvents, GENESIS_HASH, type AuditRow } from "./audit-chain";
import { pgTimestamp as ts } from "../db-format";
import { deviceGone, supersededMeanwhile, missingDistributionPoints, readDeviceState, withDistributionPoints, writeSqliteBatch, type IssuedItem, type NewCertificateRow } from "./issuance-sqlite";
import type { Prisma } from "../generated/sqlite/client";

export type CertificateRow = Prisma.CertificateGetPayload<object>;
export type { IssuedItem } from "./issuance-sqlite";

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
  if (err?.code === "P2002") return JSON.stringify(err.meta ?? "").includes("serial");
  if (err?.code === "SQLITE_CONSTRAINT_UNIQUE") return /serialHex/.test(err.message ?? "");
  if (err?.code === "23505") return /serialHex/.test(err.constraint ?? "");
  return false;
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
  return readDeviceState(sqliteDirect(), id);
}

/** What an EST re-enrollment needs about the presented certificate, its CA's settings and its device. */
export interface ReenrollSource {
  id: string;
  deviceId: string | null;
  caId: string;
  serialHex: string;
  profile: string;
  subject: string;
  sans: string;
  status: string;
  notAfter: Date;
  der: Uint8Array;
  ca: { estReenrollGraceDays: number; estRevokeSuperseded: boolean };
  device: { id: string; name: string; status: string } | null;
}

const REENROLL_COLUMNS = `c."id", c."deviceId", c."caId", c."serialHex", c."profile", c."subject", c."sans", c."status", c."der",
  a."estReenrollGraceDays", a."estRevokeSuperseded", d."name" AS "deviceName", d."status" AS "deviceStatus"`;
const REENROLL_FROM = `FROM "Certificate" c JOIN "CertificateAuthority" a ON a."id" = c."caId" LEFT JOIN "Device" d ON d."id" = c."deviceId" WHERE c."fingerprint" = `;

/**
 * The certificate with this SHA-256 fingerprint, with its CA's EST settings and its device, in one
 * cached statement on the direct connection (the re-enrollment storm's hot path; a Prisma query
 * with two relations cost as much as verifying the CSR and signing together).
 */
export async function findReenrollSource(fingerprint: string): Promise<ReenrollSource | null> {
  type Raw = { id: string; deviceId: string | null; caId: string; serialHex: string; profile: string; subject: string; sans: string; status: string; der: Uint8Array; estReenrollGraceDays: number; estRevokeSuperseded: boolean | number; deviceName: string | null; deviceStatus: string | null };
  let raw: (Raw & { notAfter: string | number }) | undefined;
  if (isPostgres()) {
    // Epoch milliseconds: pg reads "timestamp without time zone" in the process's zone; Prisma stores UTC.
    const { rows } = await pgDirect().query<Raw & { notAfter: number }>({ name: "certfleet-reenroll-source", text: `SELECT ${REENROLL_COLUMNS}, (extract(epoch FROM c."notAfter") * 1000)::float8 AS "notAfter" ${REENROLL_FROM}$1`, values: [fingerprint] });
    raw = rows[0];
  } else {
    raw = reenrollStatement().get(fingerprint) as (Raw & { notAfter: string }) | undefined;
  }
  if (!raw) return null;
  return {
    id: raw.id,
    deviceId: raw.deviceId,
    caId: raw.caId,
    serialHex: raw.serialHex,
    profile: raw.profile,
    subject: raw.subject,
    sans: raw.sans,
    status: raw.status,
    notAfter: new Date(raw.notAfter),
    der: new Uint8Array(raw.der),
    ca: { estReenrollGraceDays: Number(raw.estReenrollGraceDays), estRevokeSuperseded: Boolean(raw.estRevokeSuperseded) },
    device: raw.deviceId && raw.deviceName && raw.deviceStatus ? { id: raw.deviceId, name: raw.deviceName, status: raw.deviceStatus } : null,
  };
}

const reenrollStatements = new WeakMap<object, ReturnType<ReturnType<typeof sqliteDirect>["prepare"]>>();
function reenrollStatement() {
  const conn = sqliteDirect();
  let st = reenrollStatements.get(conn);
  if (!st) reenrollStatements.set(conn, (st = conn.prepare(`SELECT ${REENROLL_COLUMNS}, c."notAfter" ${REENROLL_FROM}?`)));
  return st;
}

// ---------------------------------------------------------------------------------------------
// SQLite

const BUSY_DEADLINE_MS = 30_000;

async function storeSqlite(batch: IssuedItem[], now: Date) {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      await sqliteWriter().write(batch, now);
      return;
    } catch (e) {
      const code = String((e as { code?: unknown }).code ?? "");
      if (!code.startsWith("SQLITE_BUSY") || Date.now() - started > BUSY_DEADLINE_MS) throw e;
      // Another connection (a Prisma transaction, the CLI, another instance) holds the lock. The
      // writer never waits inside SQLite (busy_timeout 0): without the thread, waiting in this
      // thread would also stop the Prisma transaction that holds the lock.
      await new Promise((r) => setTimeout(r, Math.min(2 + attempt * 2, 25)));
    }
  }
}

interface SqliteWriter {
  path: string;
  write(batch: IssuedItem[], now: Date): Promise<void>;
  close(): Promise<void>;
}

const THREAD_ENTRY = path.join(process.cwd(), "lib", "services", "issuance-writer-thread.mjs");
const g = globalThis as unknown as { __certfleetSqliteWriter?: SqliteWriter };

/**
 * The writer for the configured database file: a thread (issuance-writer-thread.ts) when its
 * source is at hand — the project directory, where `npm start` runs — else the same statements in
 * this thread. One per process: Next's route bundle and the custom server share it via globalThis.
 */
function sqliteWriter(): SqliteWriter {
  const file = config().databaseUrl.replace(/^file:/, "");
  const current = g.__certfleetSqliteWriter;
  if (current?.path === file) return current;
  // The database moved (tests): the old thread is stopped, its connection closed.
  void current?.close();
  return (g.__certfleetSqliteWriter = existsSync(THREAD_ENTRY) ? threadWriter(file) : inlineWriter(file));
}

function inlineWriter(file: string): SqliteWriter {
  return { path: file, write: async (batch, now) => writeSqliteBatch(sqliteDirect(), batch, now), close: async () => undefined };
}

function threadWriter(file: string): SqliteWriter {
  // Taken at run time: Turbopack follows `new Worker(path)` from a static import and would bundle
  // the thread's entry (and tsx, esbuild) into the API routes. The thread runs from source.
  const { Worker } = (process as unknown as { getBuiltinModule(id: string): typeof import("node:worker_threads") }).getBuiltinModule("node:worker_threads");
  const worker = new Worker(THREAD_ENTRY, { workerData: { path: file } });
  worker.unref();
  const pending = new Map<number, { resolve(): void; reject(e: unknown): void }>();
  let nextId = 0;
  const failAll = (e: unknown) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
    if (g.__certfleetSqliteWriter?.path === file) g.__certfleetSqliteWriter = undefined;
  };
  worker.on("message", ({ id, error }: { id: number; error?: { code: string; message: string } }) => {
    const p = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    if (!p) return;
    if (!error) return p.resolve();
    // Rebuilt with the code callers test: INVALID_STATE, SQLITE_BUSY…, SQLITE_CONSTRAINT_UNIQUE.
    p.reject(error.code === "INVALID_STATE" || error.code === "CONFLICT" ? new AppError(error.code as ErrorCode, error.message) : Object.assign(new Error(error.message), { code: error.code }));
  });
  worker.on("error", failAll);
  worker.on("exit", (code) => failAll(new Error(`issuance writer thread exited (${code})`)));
  return {
    path: file,
    write: (batch, now) =>
      new Promise<void>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        // Referenced only while a batch is in flight: an idle writer never keeps a process alive.
        worker.ref();
        // Only the data: the queue's items also carry their callers' resolve/reject.
        worker.postMessage({ id, batch: batch.map(({ row, audit, crlUrl, knownCrlUris, supersedes, enrolledBy }) => ({ row, audit, crlUrl, knownCrlUris, supersedes, enrolledBy })), now });
      }),
    close: async () => {
      await worker.terminate();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: one round trip per table, arrays through unnest.

const PG_INSERT_CERTIFICATES = `
INSERT INTO "Certificate" ("id", "deviceId", "caId", "serialHex", "profile", "subject", "sans", "notBefore", "notAfter", "fingerprint", "keySource", "keyAlgorithm", "publicKeyDer", "der", "status", "createdAt")
SELECT t.*, 'active', $15::timestamp(3)
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamp(3)[], $9::timestamp(3)[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bytea[]) AS t`;

const PG_POINT_DEVICES = `
UPDATE "Device" AS d SET "currentCertId" = v.cert, "certNotAfter" = v.not_after, "updatedAt" = $4::timestamp(3)
FROM unnest($1::text[], $2::text[], $3::timestamp(3)[]) AS v(id, cert, not_after)
WHERE d."id" = v.id AND d."status" = 'active'`;

const PG_SUPERSEDE = `
UPDATE "Certificate" AS c SET "status" = 'superseded', "supersededById" = v.successor
FROM unnest($1::text[], $2::text[]) AS v(id, successor)
WHERE c."id" = v.id AND c."status" = 'active'`;

const PG_ENROLLED = `
UPDATE "Device" AS d SET "estEnrolledBy" = v.by, "estEnrolledAt" = $3::timestamp(3)
FROM unnest($1::text[], $2::text[]) AS v(id, by)
WHERE d."id" = v.id`;

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

  const successors = batch.filter((b) => b.supersedes);
  if (successors.length) {
    const claimed = await client.query(PG_SUPERSEDE, [successors.map((b) => b.supersedes!), successors.map((b) => b.row.id)]);
    // Two items replacing one certificate: the UPDATE claims it once, and the count tells.
    if (claimed.rowCount !== successors.length) throw supersededMeanwhile();
  }
  const enrolled = batch.filter((b) => b.enrolledBy);
  if (enrolled.length) await client.query(PG_ENROLLED, [enrolled.map((b) => b.row.deviceId), enrolled.map((b) => b.enrolledBy!), ts(now)]);

  for (const [caId, urls] of missingDistributionPoints(batch)) {
    const { rows: ca } = await client.query<{ crlUris: string }>('SELECT "crlUris" FROM "CertificateAuthority" WHERE "id" = $1 FOR UPDATE', [caId]);
    const uris = withDistributionPoints(ca[0]?.crlUris ?? "[]", urls);
    if (uris) await client.query('UPDATE "CertificateAuthority" SET "crlUris" = $1, "revocationVersion" = "revocationVersion" + 1, "updatedAt" = $2::timestamp(3) WHERE "id" = $3', [uris, ts(now), caId]);
  }

  const moved = await client.query<{ seq: number; hash: string }>(PG_MOVE_HEAD, [batch.length, GENESIS_HASH]);
  const { rows: events, headHash } = chainAuditEvents(moved.rows[0], batch.map((b) => b.audit), now);
  const ev = <K extends keyof AuditRow>(k: K) => events.map((e) => e[k]);
  await client.query(PG_INSERT_EVENTS, [ev("seq"), ts(now), ev("actor"), ev("actorLabel"), ev("action"), ev("targetType"), ev("targetId"), ev("details"), ev("prevHash"), ev("hash")]);
  await client.query('UPDATE "AuditHead" SET "hash" = $1 WHERE "id" = 1', [headHash]);
}
