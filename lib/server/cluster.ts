// The primary of a multi-worker server (CERTFLEET_WORKERS > 1): forks the workers, which share the
// HTTP and HTTPS listen sockets (node:cluster hands each new connection to the next worker in
// turn), replaces a worker that dies — waiting longer after each one that dies young, so a crash
// loop does not spin — and on shutdown lets every worker drain, then returns.
import cluster, { type Worker } from "node:cluster";
import { randomUUID } from "node:crypto";
import { answerWorkers, relaySiblingCasts, SERVER_ID_ENV, TOPICS } from "../ipc";

/** A worker that ran this long before dying was healthy: its replacement starts at once. */
const HEALTHY_MS = 10_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** How long a draining worker may take before it is killed. */
export const DRAIN_DEADLINE_MS = 30_000;

export interface ReadyReport {
  https: boolean;
}

export interface ClusterPrimary {
  /**
   * Resolves when every first-generation worker listens; the reports say what each opened.
   * Rejects when one of them dies before it listens (a port in use, a broken build): a server
   * that cannot start is not a crash to retry.
   */
  ready: Promise<ReadyReport[]>;
  /** Drains every worker (SIGTERM to each), waits for them, and resolves. */
  stop(): Promise<void>;
}

export function startCluster(options: { workers: number; log: (line: string) => void }): ClusterPrimary {
  const { workers, log } = options;
  // "advanced": Dates and Buffers (the HTTPS identity's notAfter) survive the channel.
  cluster.setupPrimary({ serialization: "advanced" });
  // Inherited by every worker: their heartbeats say they are siblings (revocation-state.ts).
  process.env[SERVER_ID_ENV] = randomUUID();
  relaySiblingCasts();

  const started = new Map<number, number>();
  let stopping = false;
  let youngDeaths = 0;
  const respawns = new Set<NodeJS.Timeout>();

  const fork = (): Worker => {
    const worker = cluster.fork();
    started.set(worker.id, Date.now());
    return worker;
  };

  const reports: ReadyReport[] = [];
  const listening = new Set<number>();
  let resolveReady!: (r: ReadyReport[]) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<ReadyReport[]>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  answerWorkers(TOPICS.workerReady, (payload) => {
    const report = payload as ReadyReport & { pid: number };
    listening.add(report.pid);
    log(`[certfleet] worker ${report.pid} listening`);
    if (reports.length < workers) {
      reports.push({ https: report.https });
      if (reports.length === workers) resolveReady(reports);
    }
    return true;
  });

  cluster.on("exit", (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker.id) ?? Date.now());
    started.delete(worker.id);
    if (stopping) return;
    if (reports.length < workers && !listening.has(worker.process.pid ?? -1)) {
      rejectReady(new Error(`worker ${worker.process.pid} exited (${signal ?? `exit ${code}`}) before it listened`));
      return;
    }
    youngDeaths = lived < HEALTHY_MS ? youngDeaths + 1 : 0;
    const delay = youngDeaths === 0 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (youngDeaths - 1));
    log(`[certfleet] worker ${worker.process.pid} died (${signal ?? `exit ${code}`}) after ${Math.round(lived / 1000)} s; replacing it${delay ? ` in ${delay} ms` : ""}`);
    const timer = setTimeout(() => {
      respawns.delete(timer);
      if (!stopping) fork();
    }, delay);
    respawns.add(timer);
  });

  for (let i = 0; i < workers; i++) fork();

  return {
    ready,
    stop: async () => {
      stopping = true;
      for (const t of respawns) clearTimeout(t);
      const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
      await Promise.all(
        alive.map(
          (w) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => {
                log(`[certfleet] worker ${w.process.pid} did not drain within ${DRAIN_DEADLINE_MS / 1000} s: killing it`);
                w.process.kill("SIGKILL");
              }, DRAIN_DEADLINE_MS);
              w.once("exit", () => {
                clearTimeout(kill);
                resolve();
              });
              w.process.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}
