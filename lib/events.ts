// In-process notifications between services and the broker endpoints. Kept on globalThis because
// the custom server (tsx) and Next's bundle load separate copies of lib/; both must hear the same
// events. Across instances (several processes on one PostgreSQL) the CA's revocationVersion is
// the signal; see lib/services/revocation-state.ts.
import { EventEmitter } from "node:events";

/**
 * A CRL this process signed and stored, and the moment it is served (after its hold-back,
 * lib/services/crl.ts): sibling workers are told, so that from that moment on none of them
 * answers with a lower number. The number travels as decimal text (bigint does not cross JSON).
 */
export interface CrlStored {
  caId: string;
  slug: string;
  number: string;
  publishAt: number;
}

type Events = { revocation: [caId: string, fromSibling: boolean]; psk: []; access: [deviceIds: string[]]; crl: [stored: CrlStored] };

const g = globalThis as unknown as { __certfleetBus?: EventEmitter<Events>; __certfleetRevocationSeq?: number };
const bus = (g.__certfleetBus ??= new EventEmitter<Events>().setMaxListeners(50));

/**
 * A certificate of `caId` was revoked, un-held or otherwise changed status (after commit) — in
 * this process, or (fromSibling) in another worker of the same server, which said so after its commit.
 */
export function emitRevocationChanged(caId: string, options: { fromSibling?: boolean } = {}) {
  g.__certfleetRevocationSeq = (g.__certfleetRevocationSeq ?? 0) + 1;
  bus.emit("revocation", caId, options.fromSibling ?? false);
}

/**
 * How many revocation events this process has emitted. Every event is emitted after its commit,
 * so a database read that starts once this count is `n` sees the changes of events 1..n: a
 * reader takes the count before its query and may only clear marks the first n events set.
 */
export function revocationEventCount(): number {
  return g.__certfleetRevocationSeq ?? 0;
}

export function onRevocationChanged(listener: (caId: string, fromSibling: boolean) => void): () => void {
  bus.on("revocation", listener);
  return () => bus.off("revocation", listener);
}

/** This process signed and stored a new CRL. */
export function emitCrlStored(stored: CrlStored) {
  bus.emit("crl", stored);
}

export function onCrlStored(listener: (stored: CrlStored) => void): () => void {
  bus.on("crl", listener);
  return () => bus.off("crl", listener);
}

/** The set of exportable PSKs changed (after commit). */
export function emitPskChanged() {
  bus.emit("psk");
}

export function onPskChanged(listener: () => void): () => void {
  bus.on("psk", listener);
  return () => bus.off("psk", listener);
}

/**
 * These devices may have lost (or gained) MQTT access: revoked, held, disabled, decommissioned,
 * a topic policy or a broker changed (after commit). The broker auth backend drops its cached
 * answers; live sessions of devices that lost access are closed (lib/services/broker-sessions.ts).
 */
export function emitAccessChanged(deviceIds: string[]) {
  bus.emit("access", deviceIds);
}

export function onAccessChanged(listener: (deviceIds: string[]) => void): () => void {
  bus.on("access", listener);
  return () => bus.off("access", listener);
}

/** One poll's view of every issuing CA, handed to the CRL and OCSP state (lib/services/revocation-state.ts). */
export interface CaRevocationState {
  id: string;
  slug: string;
  revocationVersion: number;
  /** Number of the newest CRL any instance has stored for the CA (null: none yet). */
  newestCrlNumber: bigint | null;
}

export interface RevocationSnapshot {
  cas: CaRevocationState[];
  /** revocationEventCount() before the reads: the snapshot reflects those local events. */
  eventsBefore: number;
  /** Other instances that announced themselves within the poller's peer window (sibling workers included). */
  peers: number;
  /** The change markers other instances write (PSKs, MQTT access): any change means "re-check". */
  markers?: string;
  /** Of those, the ones that are not workers of this server (other hosts or servers on the database). */
  remotePeers: number;
}
