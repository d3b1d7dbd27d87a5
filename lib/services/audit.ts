// The audit trail: append-only, hash-chained events written in the same transaction as the change
// they describe. hash = SHA-256(prevHash || canonical event); the AuditHead row is updated in the
// same transaction, which on PostgreSQL takes a row lock and so serialises appends (no forks).
import { db, type Tx, transaction } from "../db";
import { authorize, type Actor } from "../auth/roles";
import { chainAuditEvents, GENESIS_HASH, hashAuditEvent, type AuditEntry, type AuditInput } from "./audit-chain";

export async function appendAudit(tx: Tx, actor: Actor, input: AuditInput): Promise<void> {
  await appendAuditMany(tx, [{ actor, input }]);
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
