// In-process notifications between services and the broker endpoints. Kept on globalThis because
// the custom server (tsx) and Next's bundle load separate copies of lib/; both must hear the same
// events. Across instances (several processes on one PostgreSQL) the CA's revocationVersion is
// the signal; see lib/services/revocation-state.ts.
import { EventEmitter } from "node:events";

type Events = { revocation: [caId: string]; psk: [] };

const g = globalThis as unknown as { __certfleetBus?: EventEmitter<Events>; __certfleetRevocationSeq?: number };
const bus = (g.__certfleetBus ??= new EventEmitter<Events>().setMaxListeners(50));

/** A certificate of `caId` was revoked, un-held or otherwise changed status (after commit). */
export function emitRevocationChanged(caId: string) {
  g.__certfleetRevocationSeq = (g.__certfleetRevocationSeq ?? 0) + 1;
  bus.emit("revocation", caId);
}

/**
 * How many revocation events this process has emitted. Every event is emitted after its commit,
 * so a database read that starts once this count is `n` sees the changes of events 1..n: a
 * reader takes the count before its query and may only clear marks the first n events set.
 */
export function revocationEventCount(): number {
  return g.__certfleetRevocationSeq ?? 0;
}

export function onRevocationChanged(listener: (caId: string) => void): () => void {
  bus.on("revocation", listener);
  return () => bus.off("revocation", listener);
}

/** The set of exportable PSKs changed (after commit). */
export function emitPskChanged() {
  bus.emit("psk");
}

export function onPskChanged(listener: () => void): () => void {
  bus.on("psk", listener);
  return () => bus.off("psk", listener);
}
