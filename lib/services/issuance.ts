// The one writer of "a certificate was issued": its row, the device's pointer to it, the CA's
// distribution points and the audit event, in one transaction. Every issuing path comes here —
// REST and server actions, renew and bulk renew, CSV import with generated credentials — in one
// of two ways with the same row (certificateRow) and the same checks:
// - commitIssued: its own transaction, grouped with concurrent issuances (group commit below) and
//   written on direct driver connections (issuance-store.ts), for the paths that only issue;
// - recordIssuedInTx: inside a caller's Prisma transaction, for paths that change more in the
//   same commit (import creates the device); recordSuccessorInTx wraps it for renewal and EST
//   re-enrollment that revoke the old certificate (revokeInTx is a Prisma-transaction writer).
// An item may carry `supersedes` (the certificate it replaces, claimed in the same commit) and
// `enrolledBy` (EST): both ways write them alike, so an EST re-enrollment that only supersedes
// goes through the group commit (thousands per second on SQLite) instead of a transaction each.
// tests/integration/issuance-store.test.ts holds both to writing identical rows.
import { randomBytes } from "node:crypto";
import type { Tx } from "../db";
import type { IssuedCertificate, KeyAlgorithm, SubjectAltNames } from "../pki";
import { REVOCATION_REASONS } from "../pki/revocation-reasons";
import { appendAudit } from "./audit";
import { revokeInTx } from "./revocation";
import type { AuditEntry } from "./audit-chain";
import { caUrls } from "./cas";
import { deviceGone, supersededMeanwhile, missingDistributionPoints, withDistributionPoints, type IssuedItem, type NewCertificateRow } from "./issuance-sqlite";
import { storeIssuedBatch, type CertificateRow } from "./issuance-store";
import { countOutcome, processMetrics } from "./metrics";

export type { IssuedItem, EstEnrolledBy } from "./issuance-sqlite";
export type { CertificateRow } from "./issuance-store";

export interface IssuedKey {
  spki: Uint8Array;
  keyAlgorithm: KeyAlgorithm;
  keySource: "csr" | "generated";
}

export interface IssuedParams {
  ca: { id: string; slug: string; crlUris: string };
  deviceId: string;
  issued: IssuedCertificate;
  key: IssuedKey;
  sans?: SubjectAltNames;
}

/** The row for an issued certificate (id chosen here, so the audit event can name it before insert). */
export function certificateRow(params: IssuedParams, id = `c${randomBytes(12).toString("hex")}`): NewCertificateRow {
  const { ca, issued } = params;
  return {
    id,
    deviceId: params.deviceId,
    caId: ca.id,
    serialHex: issued.serialHex,
    profile: issued.profile,
    subject: issued.subject,
    sans: JSON.stringify(params.sans ?? {}),
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
    fingerprint: issued.fingerprintSha256,
    keySource: params.key.keySource,
    keyAlgorithm: params.key.keyAlgorithm,
    publicKeyDer: new Uint8Array(params.key.spki),
    der: new Uint8Array(issued.der),
  };
}

/** What the writer needs for one issuance: the row, its audit event, and the CA's distribution points as last seen. */
export function issuedItem(params: IssuedParams, audit: (row: NewCertificateRow) => AuditEntry): IssuedItem {
  const row = certificateRow(params);
  return { row, audit: audit(row), crlUrl: caUrls(params.ca.slug).crl, knownCrlUris: JSON.parse(params.ca.crlUris) as string[] };
}

/** The audit details every certificate.issue event carries, whichever path wrote it. */
export function issueAuditDetails(row: NewCertificateRow, caSlug: string, extra: Record<string, unknown> = {}) {
  return { certificateId: row.id, serial: row.serialHex, keySource: row.keySource, keyAlgorithm: row.keyAlgorithm, notAfter: row.notAfter, ca: caSlug, ...extra };
}

/**
 * Writes an issuance inside the caller's transaction, through Prisma, with its audit event: the
 * same row, pointer and distribution points as the direct writer. Throws INVALID_STATE when the
 * device is no longer active.
 */
const countIssued = (outcome: string) => processMetrics().issuance.inc({ outcome });

export function recordIssuedInTx(tx: Tx, item: IssuedItem): Promise<CertificateRow> {
  // Counted when written in the caller's transaction (a later rollback of it is not uncounted).
  return countOutcome(countIssued, writeIssuedInTx(tx, item));
}

async function writeIssuedInTx(tx: Tx, item: IssuedItem): Promise<CertificateRow> {
  const row = await tx.certificate.create({ data: item.row });
  const pointed = await tx.device.updateMany({ where: { id: item.row.deviceId, status: "active" }, data: { currentCertId: row.id, certNotAfter: row.notAfter } });
  if (pointed.count !== 1) throw deviceGone();
  if (item.supersedes) {
    const claimed = await tx.certificate.updateMany({ where: { id: item.supersedes, status: "active" }, data: { status: "superseded", supersededById: row.id } });
    if (claimed.count !== 1) throw supersededMeanwhile();
  }
  if (item.enrolledBy) await tx.device.update({ where: { id: item.row.deviceId }, data: { estEnrolledBy: item.enrolledBy, estEnrolledAt: row.createdAt } });
  await recordDistributionPoints(tx, [item]);
  await appendAudit(tx, item.audit.actor, item.audit.input);
  return row;
}

/**
 * A renewal or re-enrollment inside the caller's transaction: claims the old certificate (only
 * while it is active, so of two renewals racing one wins), writes the new one as recordIssuedInTx
 * does, links the old one to it and, when asked, revokes the old one as superseded through the
 * one revoker. Returns null — having written nothing — when the old certificate was no longer
 * active; the caller says what that means for it. The caller announces revokeOld's CA after commit.
 */
export function recordSuccessorInTx(tx: Tx, oldId: string, item: IssuedItem, options: { revokeOld: boolean; at: Date }): Promise<CertificateRow | null> {
  return countOutcome((outcome) => processMetrics().renewal.inc({ outcome }), writeSuccessorInTx(tx, oldId, item, options), (row) => (row ? "success" : "conflict"));
}

async function writeSuccessorInTx(tx: Tx, oldId: string, item: IssuedItem, options: { revokeOld: boolean; at: Date }): Promise<CertificateRow | null> {
  const claimed = await tx.certificate.updateMany({ where: { id: oldId, status: "active" }, data: { status: "superseded" } });
  if (claimed.count !== 1) return null;
  const created = await recordIssuedInTx(tx, { ...item, supersedes: undefined });
  await tx.certificate.update({ where: { id: oldId }, data: { supersededById: created.id } });
  if (options.revokeOld) await revokeInTx(tx, [oldId], REVOCATION_REASONS.superseded, options.at);
  return created;
}

/**
 * Every distribution point ever written stays in the CRL's Issuing Distribution Point, so
 * certificates issued under an older CERTFLEET_PUBLIC_URL stay in scope (BROKERS.md). The list
 * only grows, so a cached copy that already has the URL needs no database work.
 */
async function recordDistributionPoints(tx: Tx, batch: Pick<IssuedItem, "crlUrl" | "knownCrlUris" | "row">[]) {
  for (const [caId, urls] of missingDistributionPoints(batch)) {
    const current = await tx.certificateAuthority.findUniqueOrThrow({ where: { id: caId }, select: { crlUris: true } });
    const uris = withDistributionPoints(current.crlUris, urls);
    if (uris) await tx.certificateAuthority.update({ where: { id: caId }, data: { crlUris: uris, revocationVersion: { increment: 1 } } });
  }
}

// ---------------------------------------------------------------------------------------------
// Group commit. Signing is cheap (~0.1 ms); what costs is the transaction around each certificate
// (insert, device pointer, audit chain, commit). Issuances that arrive while a commit is running
// wait for the next one and share it: one transaction (issuance-store.ts), one audit-head update.
// Nobody gets a certificate before its row is committed. If a shared commit fails, each member is
// retried alone so an error reaches only its own caller.

interface Queued extends IssuedItem {
  resolve(row: CertificateRow): void;
  reject(error: unknown): void;
}

// Smaller than a busy moment's number of callers on purpose: while one batch commits (on the
// writer thread for SQLite), the callers left out of it verify and sign the next one, so neither
// the signing thread nor the writer waits for the other. Measured: 64 callers, batches of 32 →
// ~2,000–2,300 certificates/s; batches of 64 → ~1,700–1,900 (the main thread idled ~25%).
const MAX_BATCH = 32;
const g = globalThis as unknown as { __certfleetIssueQueue?: { queue: Queued[]; running: boolean } };
const state = (g.__certfleetIssueQueue ??= { queue: [], running: false });

/** Commits one issuance in its own transaction, grouped with concurrent ones. */
export function commitIssued(item: IssuedItem): Promise<CertificateRow> {
  const committed = new Promise<CertificateRow>((resolve, reject) => {
    state.queue.push({ ...item, resolve, reject });
    if (!state.running) {
      state.running = true;
      setImmediate(drain);
    }
  });
  return countOutcome(countIssued, committed);
}

async function drain() {
  try {
    while (state.queue.length) {
      const batch = state.queue.splice(0, MAX_BATCH);
      try {
        const rows = await storeIssuedBatch(batch);
        for (const item of batch) item.resolve(rows.get(item.row.id)!);
      } catch (e) {
        if (batch.length === 1) batch[0].reject(e);
        else for (const item of batch) await storeIssuedBatch([item]).then((rows) => item.resolve(rows.get(item.row.id)!), item.reject);
      }
    }
  } finally {
    state.running = false;
    if (state.queue.length) {
      state.running = true;
      setImmediate(drain);
    }
  }
}
