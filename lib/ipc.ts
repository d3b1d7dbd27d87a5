// Messages between a cluster worker and its primary (lib/server/cluster.ts): a worker asks the
// primary (TLS identity, shared throttles, aggregated metrics) and the primary tells every worker
// (a renewed TLS identity, a revocation or a CRL one worker made). In a single process
// (CERTFLEET_WORKERS=1, tests, the CLI) the same calls reach the handlers registered in that
// process, so callers never ask which mode they run in.
//
// State lives on globalThis: the custom server (tsx) and Next's bundle load separate copies of
// lib/, and a handler the server registers must answer a question asked from a route.
import cluster from "node:cluster";
import { randomUUID } from "node:crypto";

/** The topics CertFleet's processes exchange (one place, so no two features pick the same name). */
export const TOPICS = {
  /** worker → primary: the HTTPS identity; primary → workers: a first or renewed one. */
  tlsIdentity: "tls-identity",
  /** worker → primary: one step of a shared login / EST-secret throttle (lib/auth/rate-limit.ts). */
  throttle: "throttle",
  /** worker → primary: it listens (lib/server/cluster.ts). */
  workerReady: "worker-ready",
  /** worker → primary: metrics of every worker, aggregated (lib/server/metrics-bridge.ts). */
  metrics: "metrics",
  /** worker → siblings: a revocation committed / a CRL stored here (lib/services/revocation-state.ts). */
  revocation: "revocation",
  crlStored: "crl-stored",
} as const;

/**
 * Workers of one server share this id (the cluster's primary sets it before forking); it opens
 * each instance heartbeat's value, so a poll tells sibling workers from other servers
 * (lib/services/revocation-state.ts).
 */
export const SERVER_ID_ENV = "CERTFLEET_INTERNAL_SERVER_ID";

type Handler = (payload: unknown) => unknown;
type Listener = (payload: unknown) => void;

/** Every message of ours carries this key; others on the channel (Node's, prom-client's) do not. */
const TAG = "certfleet";
/** Topics a worker sends for its siblings: the primary relays them (relaySiblingCasts), answers none. */
const SIBLING_PREFIX = "sibling:";
/** Topics a worker sends for its siblings: the primary relays them (relaySiblingCasts), answers none. */
interface Ask {
  [TAG]: "ask";
  /** The module copy that asked (each copy has its own pending map) and its request number. */
  from: string;
  id: number;
  topic: string;
  payload: unknown;
}
interface Reply {
  [TAG]: "reply";
  to: string;
  id: number;
  value?: unknown;
  error?: string;
}
interface Cast {
  [TAG]: "cast";
  topic: string;
  payload: unknown;
}
type Message = Ask | Reply | Cast;

interface IpcState {
  handlers: Map<string, Handler>;
  listeners: Map<string, Set<Listener>>;
  primaryListening: boolean;
}
const g = globalThis as unknown as { __certfleetIpc?: IpcState };
const shared: IpcState = (g.__certfleetIpc ??= { handlers: new Map(), listeners: new Map(), primaryListening: false });

// Per module copy: its replies come back to it alone.
const self = randomUUID();
const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void; timer: NodeJS.Timeout }>();
let nextId = 0;
let workerListening = false;

const isOurs = (m: unknown): m is Message => typeof m === "object" && m !== null && TAG in m;

/** True in a cluster worker (a primary is there to ask). */
export function inClusterWorker(): boolean {
  return cluster.isWorker && typeof process.send === "function";
}

function listenAsWorker() {
  if (workerListening) return;
  workerListening = true;
  process.on("message", (m: unknown) => {
    if (!isOurs(m)) return;
    if (m[TAG] === "reply") {
      if (m.to !== self) return;
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.value);
    } else if (m[TAG] === "cast") deliver(m.topic, m.payload);
  });
}

function deliver(topic: string, payload: unknown) {
  for (const fn of shared.listeners.get(topic) ?? []) {
    try {
      fn(payload);
    } catch (e) {
      console.error(`[certfleet] ${topic} listener failed:`, e instanceof Error ? e.message : e);
    }
  }
}

function listenAsPrimary() {
  if (shared.primaryListening || !cluster.isPrimary) return;
  shared.primaryListening = true;
  cluster.on("message", (worker, m: unknown) => {
    if (!isOurs(m) || m[TAG] !== "ask" || m.topic.startsWith(SIBLING_PREFIX)) return;
    const reply = (r: Omit<Reply, typeof TAG | "to" | "id">) => {
      if (worker.isConnected()) worker.send({ [TAG]: "reply", to: m.from, id: m.id, ...r } satisfies Reply);
    };
    Promise.resolve()
      .then(() => answerLocally(m.topic, m.payload))
      .then(
        (value) => reply({ value }),
        (e) => reply({ error: e instanceof Error ? e.message : String(e) }),
      );
  });
}

function answerLocally(topic: string, payload: unknown): unknown {
  const handler = shared.handlers.get(topic);
  if (!handler) throw new Error(`nobody answers "${topic}"`);
  return handler(payload);
}

/**
 * Registers the primary's answer to `topic` (in a single process: the process's own answer).
 * Values travel as JSON-like data (the IPC channel's "advanced" serialization keeps Dates and
 * Buffers).
 */
export function answerWorkers(topic: string, handler: (payload: unknown) => unknown): void {
  shared.handlers.set(topic, handler);
  listenAsPrimary();
}

/** Asks the primary (or, outside a cluster worker, this process) and waits for its answer. */
export async function askPrimary<T>(topic: string, payload?: unknown, timeoutMs = 10_000): Promise<T> {
  if (!inClusterWorker()) return (await answerLocally(topic, payload)) as T;
  listenAsWorker();
  return new Promise<T>((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`the primary did not answer "${topic}" within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
    process.send!({ [TAG]: "ask", from: self, id, topic, payload } satisfies Ask);
  });
}

/** Hears what the primary tells every worker (in a single process: what this process tells itself). */
export function onPrimaryCast(topic: string, listener: (payload: unknown) => void): () => void {
  if (inClusterWorker()) listenAsWorker();
  const set = shared.listeners.get(topic) ?? new Set();
  set.add(listener);
  shared.listeners.set(topic, set);
  return () => set.delete(listener);
}

/** The primary tells every worker (in a single process: this process's listeners). */
export function castToWorkers(topic: string, payload?: unknown, except?: number): void {
  if (!cluster.isPrimary) return deliver(topic, payload);
  for (const worker of Object.values(cluster.workers ?? {})) {
    if (worker && worker.id !== except && worker.isConnected()) worker.send({ [TAG]: "cast", topic, payload } satisfies Cast);
  }
  // The primary's own listeners too (it may serve nothing, but it may keep state that follows).
  deliver(topic, payload);
}

/**
 * A worker tells its siblings through the primary (in a single process: nothing — there are
 * none). The sender does not hear its own message.
 */
export function castToSiblings(topic: string, payload?: unknown): void {
  if (!inClusterWorker()) return;
  process.send!({ [TAG]: "ask", from: self, id: -1, topic: `${SIBLING_PREFIX}${topic}`, payload } satisfies Ask);
}

/** The primary relays castToSiblings to every worker but the sender (called once by the cluster). */
export function relaySiblingCasts(): void {
  if (!cluster.isPrimary) return;
  cluster.on("message", (worker, m: unknown) => {
    if (!isOurs(m) || m[TAG] !== "ask" || !m.topic.startsWith(SIBLING_PREFIX)) return;
    const topic = m.topic.slice(SIBLING_PREFIX.length);
    for (const other of Object.values(cluster.workers ?? {})) {
      if (other && other.id !== worker.id && other.isConnected()) other.send({ [TAG]: "cast", topic, payload: m.payload } satisfies Cast);
    }
  });
}
