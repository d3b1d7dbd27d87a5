// Group commit for issuance. Signing is cheap (~0.1 ms); what costs is the transaction around
// each certificate (insert, device pointer, three audit-chain statements, commit). Issuances that
// arrive while a commit is running wait for the next one and share it: one transaction, one
// multi-row insert, one audit-head update. Nobody gets a certificate before its row is committed.
// If a shared commit fails, each member is retried alone so an error reaches only its own caller.
import { type Tx, transaction } from "../db";
import { AppError } from "../errors";
import type { Actor } from "../auth/roles";
import { appendAuditMany, type AuditInput } from "./audit";
import type { Prisma } from "../generated/sqlite/client";

type CertificateRow = Prisma.CertificateGetPayload<object>;

export interface PendingIssue {
  row: Prisma.CertificateCreateManyInput & { id: string; deviceId: string; notAfter: Date };
  actor: Actor;
  audit: AuditInput;
  /** The CA's CRL URL for this certificate, and the CA's distribution points as last seen. */
  crlUrl: string;
  knownCrlUris: string[];
}

interface Queued extends PendingIssue {
  resolve(row: CertificateRow): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 64;
const g = globalThis as unknown as { __certfleetIssueQueue?: { queue: Queued[]; running: boolean } };
const state = (g.__certfleetIssueQueue ??= { queue: [], running: false });

export function commitIssued(item: PendingIssue): Promise<CertificateRow> {
  return new Promise((resolve, reject) => {
    state.queue.push({ ...item, resolve, reject });
    if (!state.running) {
      state.running = true;
      setImmediate(drain);
    }
  });
}

async function drain() {
  try {
    while (state.queue.length) {
      const batch = state.queue.splice(0, MAX_BATCH);
      try {
        const rows = await commitBatch(batch);
        for (const item of batch) item.resolve(rows.get(item.row.id)!);
      } catch (e) {
        if (batch.length === 1) batch[0].reject(e);
        else for (const item of batch) await commitBatch([item]).then((rows) => item.resolve(rows.get(item.row.id)!), item.reject);
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

async function commitBatch(batch: PendingIssue[]): Promise<Map<string, CertificateRow>> {
  return transaction(
    async (tx) => {
      const created = await tx.certificate.createManyAndReturn({ data: batch.map((b) => b.row) });
      for (const b of batch) {
        // Conditional on the device still being active: a decommission that committed meanwhile wins.
        const pointed = await tx.device.updateMany({ where: { id: b.row.deviceId, status: "active" }, data: { currentCertId: b.row.id, certNotAfter: b.row.notAfter } });
        if (pointed.count !== 1) throw new AppError("INVALID_STATE", "The device is no longer active");
      }
      await recordDistributionPoints(tx, batch);
      await appendAuditMany(tx, batch.map((b) => ({ actor: b.actor, input: b.audit })));
      return new Map(created.map((row) => [row.id, row]));
    },
    { timeout: 60_000, maxWait: 30_000 },
  );
}

/**
 * Every distribution point ever written stays in the CRL's Issuing Distribution Point, so
 * certificates issued under an older CERTFLEET_PUBLIC_URL stay in scope (BROKERS.md). The list
 * only grows, so a cached copy that already has the URL needs no database work.
 */
export async function recordDistributionPoints(tx: Tx, batch: Pick<PendingIssue, "crlUrl" | "knownCrlUris" | "row">[]) {
  const missing = new Map<string, Set<string>>();
  for (const b of batch) if (!b.knownCrlUris.includes(b.crlUrl)) (missing.get(b.row.caId) ?? missing.set(b.row.caId, new Set()).get(b.row.caId)!).add(b.crlUrl);
  for (const [caId, urls] of missing) {
    const current = await tx.certificateAuthority.findUniqueOrThrow({ where: { id: caId }, select: { crlUris: true } });
    const uris = JSON.parse(current.crlUris) as string[];
    const added = [...urls].filter((u) => !uris.includes(u));
    if (added.length) {
      // A new distribution point must appear in the CRL's IDP at once: bumping the version re-signs it.
      await tx.certificateAuthority.update({ where: { id: caId }, data: { crlUris: JSON.stringify([...uris, ...added]), revocationVersion: { increment: 1 } } });
    }
  }
}
