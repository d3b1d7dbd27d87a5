// The audit chain's definition, pure: which fields are hashed, in which canonical form, and how
// events link. Kept apart from audit.ts (which needs Prisma) so the issuance writer thread chains
// events with the very same code.
import { createHash } from "node:crypto";
import { actorRef, type Actor } from "../auth/roles";

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

