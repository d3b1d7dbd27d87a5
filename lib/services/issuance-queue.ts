// Group commit for issuance. Signing is cheap (~0.1 ms); what costs is the transaction around
// each certificate (insert, device pointer, audit chain, commit). Issuances that arrive while a
// commit is running wait for the next one and share it: one transaction (issuance-store.ts), one
// audit-head update. Nobody gets a certificate before its row is committed.
// If a shared commit fails, each member is retried alone so an error reaches only its own caller.
import type { Tx } from "../db";
import { missingDistributionPoints, withDistributionPoints, type IssuedItem } from "./issuance-sqlite";
import { storeIssuedBatch, type CertificateRow } from "./issuance-store";

export type PendingIssue = IssuedItem;

interface Queued extends PendingIssue {
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

/**
 * Every distribution point ever written stays in the CRL's Issuing Distribution Point, so
 * certificates issued under an older CERTFLEET_PUBLIC_URL stay in scope (BROKERS.md). The list
 * only grows, so a cached copy that already has the URL needs no database work.
 */
export async function recordDistributionPoints(tx: Tx, batch: Pick<PendingIssue, "crlUrl" | "knownCrlUris" | "row">[]) {
  for (const [caId, urls] of missingDistributionPoints(batch)) {
    const current = await tx.certificateAuthority.findUniqueOrThrow({ where: { id: caId }, select: { crlUris: true } });
    const uris = withDistributionPoints(current.crlUris, urls);
    if (uris) await tx.certificateAuthority.update({ where: { id: caId }, data: { crlUris: uris, revocationVersion: { increment: 1 } } });
  }
}
