// The audit trail: append-only, hash-chained events written in the same transaction as the change
// they describe. hash = SHA-256(prevHash || canonical event); the AuditHead row is updated in the
// same transaction, which on PostgreSQL takes a row lock and so serialises appends (no forks).
import { createHash } from "node:crypto";
import { db, type Tx, transaction } from "../db";
import { actorRef, authorize, type Actor } from "../auth/roles";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditInput {
  action: string;
  targetType?: string;
  targetId?: string;
  /** Never secrets: no keys, PSKs, passwords or tokens. */
  details?: Record<string, unknown>;
}

interface ChainedFields {
  seq: number;
  at: Date;
  actor: string;
  actorLabel: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: string;
}

export function hashAuditEvent(prevHash: string, e: ChainedFields): string {
  const canonical = JSON.stringify([e.seq, e.at.toISOString(), e.actor, e.actorLabel, e.action, e.targetType, e.targetId, e.details]);
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}

export async function appendAudit(tx: Tx, actor: Actor, input: AuditInput): Promise<void> {
  await appendAuditMany(tx, [{ actor, input }]);
}

export interface AuditEntry {
  actor: Actor;
  input: AuditInput;
}

export type AuditRow = ChainedFields & { prevHash: string; hash: string };

/**
 * Links `entries` onto a head that has already been moved past them (`head.seq` is the new last
 * sequence number, `head.hash` still the old last hash). Pure: both the Prisma path below and the
 * issuance writer (issuance-store.ts) persist what it returns, so the chain has one definition.
 */
export function chainAuditEvents(head: { seq: number; hash: string }, entries: AuditEntry[], at: Date): { rows: AuditRow[]; headHash: string } {
  let prevHash = head.hash;
  let seq = head.seq - entries.length + 1;
  const rows = entries.map(({ actor, input }) => {
    const fields: ChainedFields = {
      seq: seq++,
      at,
      actor: actorRef(actor),
      actorLabel: actor.label,
      action: input.action,
      targetType: input.targetType ?? null,
      targetId: input.targetId ?? null,
      details: JSON.stringify(input.details ?? {}),
    };
    const hash = hashAuditEvent(prevHash, fields);
    const row = { ...fields, prevHash, hash };
    prevHash = hash;
    return row;
  });
  return { rows, headHash: prevHash };
}

/** Appends several events in order, with one head update for all. */
export async function appendAuditMany(tx: Tx, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const n = entries.length;
  // Lock the head first (the UPDATE takes the row lock), moving it past all n events at once.
  const head = await tx.auditHead.upsert({
    where: { id: 1 },
    create: { id: 1, seq: n, hash: GENESIS_HASH },
    update: { seq: { increment: n } },
  });
  const { rows, headHash } = chainAuditEvents(head, entries, new Date());
  await tx.auditEvent.createMany({ data: rows });
  await tx.auditHead.update({ where: { id: 1 }, data: { hash: headHash } });
}

/** Runs `fn` and writes its audit event in one transaction. */
export async function withAudit<T>(actor: Actor, fn: (tx: Tx) => Promise<{ result: T; audit: AuditInput }>): Promise<T> {
  return transaction(
    async (tx) => {
      const { result, audit } = await fn(tx);
      await appendAudit(tx, actor, audit);
      return result;
    },
    { timeout: 60_000, maxWait: 30_000 },
  );
}

export interface ChainVerdict {
  ok: boolean;
  checked: number;
  /** First event whose stored hash, link or sequence does not match. */
  brokenAt?: number;
  reason?: string;
}

/** Re-computes the whole chain in pages; detects edited, deleted, inserted or reordered events. */
export async function verifyAuditChain(actor: Actor): Promise<ChainVerdict> {
  authorize(actor, "audit:read");
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  const PAGE = 2000;
  for (;;) {
    const rows = await db().auditEvent.findMany({ where: { seq: { gte: expectedSeq } }, orderBy: { seq: "asc" }, take: PAGE });
    for (const row of rows) {
      if (row.seq !== expectedSeq) return { ok: false, checked, brokenAt: expectedSeq, reason: `event ${expectedSeq} is missing` };
      if (row.prevHash !== prevHash) return { ok: false, checked, brokenAt: row.seq, reason: `event ${row.seq} does not link to the previous event` };
      if (hashAuditEvent(prevHash, row) !== row.hash) return { ok: false, checked, brokenAt: row.seq, reason: `event ${row.seq} was modified` };
      prevHash = row.hash;
      expectedSeq++;
      checked++;
    }
    if (rows.length < PAGE) break;
  }
  const head = await db().auditHead.findUnique({ where: { id: 1 } });
  if (head && (head.seq !== expectedSeq - 1 || head.hash !== prevHash)) {
    return { ok: false, checked, brokenAt: expectedSeq, reason: "the newest events were removed" };
  }
  return { ok: true, checked };
}

export async function listAuditEvents(
  actor: Actor,
  filter: { targetType?: string; targetId?: string; action?: string; before?: number; limit?: number },
) {
  authorize(actor, "audit:read");
  return db().auditEvent.findMany({
    where: {
      targetType: filter.targetType,
      targetId: filter.targetId,
      action: filter.action ? { startsWith: filter.action } : undefined,
      seq: filter.before ? { lt: filter.before } : undefined,
    },
    orderBy: { seq: "desc" },
    take: Math.min(filter.limit ?? 50, 500),
  });
}
