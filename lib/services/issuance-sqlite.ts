// The SQLite side of the issuance writer: cached statements and the one IMMEDIATE transaction
// that commits a batch, in Prisma's SQLite storage format (DateTime as ISO-8601 text with
// "+00:00", Bytes as BLOB). Free of Prisma and Next, so it runs in the writer thread
// (issuance-writer-thread.ts) and, where no thread can be started, in the caller's thread.
import type Database from "better-sqlite3";
import { AppError } from "../errors";
import { sqliteDateTime as iso } from "../db-format";
import { chainAuditEvents, GENESIS_HASH, type AuditEntry } from "./audit-chain";

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

/** How a device got a certificate over EST (Device.estEnrolledBy). */
export type EstEnrolledBy = "secret" | "bootstrap" | "reenroll";

export interface IssuedItem {
  row: NewCertificateRow;
  audit: AuditEntry;
  /**
   * A renewal / re-enrollment: the certificate this one replaces, claimed in the same commit (only
   * while active, so of two racing one wins; the loser's item fails with supersededMeanwhile).
   */
  supersedes?: string;
  /** Issued over EST: the device records how, and when (the commit time). */
  enrolledBy?: EstEnrolledBy;
  /** The CA's CRL URL written into this certificate, and the CA's distribution points as last seen. */
  crlUrl: string;
  knownCrlUris: string[];
}

/** Every distribution point ever written stays in the CRL's IDP (BROKERS.md): the CA's list only grows. */
export function missingDistributionPoints(batch: Pick<IssuedItem, "crlUrl" | "knownCrlUris" | "row">[]): Map<string, Set<string>> {
  const missing = new Map<string, Set<string>>();
  for (const b of batch) if (!b.knownCrlUris.includes(b.crlUrl)) (missing.get(b.row.caId) ?? missing.set(b.row.caId, new Set()).get(b.row.caId)!).add(b.crlUrl);
  return missing;
}

/**
 * The CA's new crlUris (JSON) with `urls` appended, or null when it already lists them all. A new
 * distribution point must appear in the CRL's IDP at once: writers bump revocationVersion with it.
 */
export function withDistributionPoints(stored: string, urls: Set<string>): string | null {
  const uris = JSON.parse(stored) as string[];
  const added = [...urls].filter((u) => !uris.includes(u));
  return added.length ? JSON.stringify([...uris, ...added]) : null;
}

export const deviceGone = () => new AppError("INVALID_STATE", "The device is no longer active");
export const supersededMeanwhile = () => new AppError("CONFLICT", "The certificate being replaced was renewed or revoked meanwhile");

interface SqliteStatements {
  certificate: Database.Statement;
  device: Database.Statement;
  head: Database.Statement;
  setHead: Database.Statement;
  event: Database.Statement;
  caUris: Database.Statement;
  deviceState: Database.Statement;
  setCaUris: Database.Statement;
  supersede: Database.Statement;
  enrolled: Database.Statement;
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
    supersede: conn.prepare('UPDATE "Certificate" SET status = \'superseded\', supersededById = ? WHERE id = ? AND status = \'active\''),
    enrolled: conn.prepare('UPDATE "Device" SET estEnrolledBy = ?, estEnrolledAt = ? WHERE id = ?'),
    commit: () => undefined,
  };
  const st = s;
  st.commit = conn.transaction((batch: IssuedItem[], now: Date) => {
    const at = iso(now);
    for (const { row: r, supersedes, enrolledBy } of batch) {
      st.certificate.run(r.id, r.deviceId, r.caId, r.serialHex, r.profile, r.subject, r.sans, iso(r.notBefore), iso(r.notAfter), r.fingerprint, r.keySource, r.keyAlgorithm, r.publicKeyDer, r.der, at);
      if (supersedes && st.supersede.run(r.id, supersedes).changes !== 1) throw supersededMeanwhile();
      // In batch order, so when one device appears twice the later certificate is its current one.
      if (st.device.run(r.id, iso(r.notAfter), at, r.deviceId).changes !== 1) throw deviceGone();
      if (enrolledBy) st.enrolled.run(enrolledBy, at, r.deviceId);
    }
    for (const [caId, urls] of missingDistributionPoints(batch)) {
      const current = st.caUris.get(caId) as { crlUris: string } | undefined;
      const uris = withDistributionPoints(current?.crlUris ?? "[]", urls);
      if (uris) st.setCaUris.run(uris, at, caId);
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

/** Commits a batch in one BEGIN IMMEDIATE … COMMIT (SQLITE_BUSY at once when another connection writes). */
export function writeSqliteBatch(conn: Database.Database, batch: IssuedItem[], now: Date): void {
  sqliteStatements(conn).commit(batch, now);
}

export function readDeviceState(conn: Database.Database, id: string): { id: string; name: string; status: string } | null {
  return (sqliteStatements(conn).deviceState.get(id) as { id: string; name: string; status: string } | undefined) ?? null;
}
