// Live-session revocation: a CRL is checked only at the TLS handshake, so a device revoked,
// disabled or decommissioned while connected would stay connected. When the one revoker or the
// device service announces an access change (events "access", after the commit), this closes the
// device's open MQTT connections on every registered broker that has an admin API:
//   RabbitMQ: GET /api/connections/username/{user}, then DELETE /api/connections/username/{user}
//             with an X-Reason header (connection tracking: immediate; the per-name DELETE relies
//             on statistics that lag up to 5 s and misses fresh connections);
//   EMQX 5:   GET /api/v5/clients?username={user}, then DELETE /api/v5/clients/{clientid} (kick),
//             HTTP Basic with an API key and secret.
// Only devices that really lost access are closed (read fresh from the database), so a renewal or
// a released hold closes nothing; a connection already gone (404) counts as closed: idempotent.
// Failures are retried twice at once and then every few seconds for 10 minutes, logged without
// secrets and shown in the broker's health.
// Mosquitto has no such API: its clients stay connected until they reconnect (README).
import { SYSTEM_ACTOR } from "../auth/roles";
import { db, transaction } from "../db";
import { onAccessChanged } from "../events";
import { appendAudit } from "./audit";
import { brokersWithAdminAccess, flushBrokerActivity, recordKickOutcome } from "./brokers";
import { readDeviceAccess } from "./mqtt-access";

const TIMEOUT_MS = 5_000;
const RETRY_DELAYS_MS = [1_000, 3_000];
const REASON = "CertFleet: device credentials revoked or device disabled";

type AdminBroker = Awaited<ReturnType<typeof brokersWithAdminAccess>>[number];

class BrokerApiError extends Error {}

async function call(broker: AdminBroker, method: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
  const auth = Buffer.from(`${broker.username}:${broker.password}`).toString("base64");
  let res: Response;
  try {
    res = await fetch(`${broker.adminUrl}${path}`, { method, headers: { authorization: `Basic ${auth}`, accept: "application/json", ...headers }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    // The URL is the admin URL the operator typed (no credentials in it: refused at registration).
    throw new BrokerApiError(`${method} ${broker.adminUrl}${path.split("?")[0]}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`);
  }
  if (!res.ok && res.status !== 404) {
    await res.body?.cancel();
    throw new BrokerApiError(`${method} ${broker.adminUrl}${path.split("?")[0]}: HTTP ${res.status}${res.status === 401 ? " (admin user name or password wrong)" : ""}`);
  }
  return res;
}

/**
 * RabbitMQ: closes every connection of `user`; returns how many there were. Both calls go through
 * connection tracking, which knows a connection the moment it is opened. DELETE
 * /api/connections/{name} looks the name up in the management statistics instead, which are
 * collected every 5 s: it answers 404 for a connection opened since (seen on 3.10.8).
 */
async function closeRabbitmq(broker: AdminBroker, user: string): Promise<number> {
  const path = `/api/connections/username/${encodeURIComponent(user)}`;
  const res = await call(broker, "GET", path);
  if (res.status === 404) return 0;
  const connections = ((await res.json()) as { name?: string; user?: string }[]).filter((c) => c.user === undefined || c.user === user);
  if (!connections.length) return 0;
  const del = await call(broker, "DELETE", path, { "x-reason": REASON });
  await del.body?.cancel();
  return connections.length;
}

/** EMQX 5: kicks every client connected with username `user`; returns how many were kicked. */
async function closeEmqx(broker: AdminBroker, user: string): Promise<number> {
  const res = await call(broker, "GET", `/api/v5/clients?username=${encodeURIComponent(user)}&_limit=1000`);
  if (res.status === 404) return 0;
  const body = (await res.json()) as { data?: { clientid?: string; username?: string }[] };
  let closed = 0;
  for (const c of body.data ?? []) {
    if (!c.clientid || (c.username !== undefined && c.username !== user)) continue;
    const del = await call(broker, "DELETE", `/api/v5/clients/${encodeURIComponent(c.clientid)}`);
    await del.body?.cancel();
    closed++;
  }
  return closed;
}

export interface CloseReport {
  broker: string;
  device: string;
  closed: number;
  error?: string;
}

/** Closes the sessions of these device names on every broker with an admin API. */
export async function closeSessions(names: string[], log: (line: string) => void = (l) => console.error(l)): Promise<CloseReport[]> {
  if (!names.length) return [];
  const brokers = await brokersWithAdminAccess();
  const reports: CloseReport[] = [];
  await Promise.all(
    brokers.map(async (broker) => {
      let closedTotal = 0;
      for (const device of names) {
        let error: string | undefined;
        let closed = 0;
        for (let attempt = 0; ; attempt++) {
          try {
            closed = broker.kind === "rabbitmq" ? await closeRabbitmq(broker, device) : await closeEmqx(broker, device);
            error = undefined;
            break;
          } catch (e) {
            error = e instanceof Error ? e.message : String(e);
            if (attempt >= RETRY_DELAYS_MS.length) break;
            await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
          }
        }
        reports.push({ broker: broker.name, device, closed, error });
        if (error) {
          log(`[certfleet] could not close the sessions of "${device}" on broker "${broker.name}": ${error}`);
          await recordKickOutcome(broker.id, { error });
        } else closedTotal += closed;
      }
      if (closedTotal) await recordKickOutcome(broker.id, { closed: closedTotal });
    }),
  );
  const closed = reports.filter((r) => r.closed > 0);
  if (closed.length) {
    await transaction(async (tx) => {
      for (const r of closed) {
        await appendAudit(tx, SYSTEM_ACTOR, { action: "broker.sessions-closed", targetType: "broker", details: { broker: r.broker, device: r.device, connections: r.closed } });
      }
    });
  }
  return reports;
}

/** The devices among `deviceIds` that have no MQTT access now (fresh from the database). */
async function devicesWithoutAccess(deviceIds: string[]): Promise<{ id: string; name: string }[]> {
  const devices = await db().device.findMany({ where: { id: { in: deviceIds } }, select: { id: true, name: true } });
  const out: { id: string; name: string }[] = [];
  for (const d of devices) if (!(await readDeviceAccess(d.name)).allowed) out.push(d);
  return out;
}

/** A device whose sessions could not be closed is tried again every tick for this long. */
const RETRY_FOR_MS = 10 * 60_000;

/**
 * Starts the session closer and the broker activity writer for this process (the custom server);
 * returns a stop function. Every `tickMs` it writes the brokers' last auth-backend call and tries
 * again the devices whose sessions could not be closed (a broker that was down), for 10 minutes.
 */
export function startBrokerSessions(options: { log?: (line: string) => void; tickMs?: number } = {}): () => void {
  const log = options.log ?? ((line: string) => console.error(line));
  let pending = new Set<string>();
  let running: Promise<void> | null = null;
  /** Device id → when closing its sessions first failed. */
  const retry = new Map<string, number>();
  const drain = async () => {
    while (pending.size) {
      const ids = [...pending];
      pending = new Set();
      try {
        const denied = await devicesWithoutAccess(ids);
        // Back in (re-enabled, new certificate): nothing left to close.
        for (const id of ids) if (!denied.some((d) => d.id === id)) retry.delete(id);
        const reports = await closeSessions(denied.map((d) => d.name), log);
        for (const d of denied) {
          if (reports.some((r) => r.device === d.name && r.error)) {
            if (!retry.has(d.id)) retry.set(d.id, Date.now());
          } else retry.delete(d.id);
        }
      } catch (e) {
        log(`[certfleet] closing revoked sessions failed: ${e instanceof Error ? e.message : String(e)}`);
        for (const id of ids) if (!retry.has(id)) retry.set(id, Date.now());
      }
    }
    running = null;
  };
  const enqueue = (deviceIds: Iterable<string>) => {
    for (const id of deviceIds) pending.add(id);
    if (pending.size) running ??= drain();
  };
  const unsubscribe = onAccessChanged(enqueue);
  const tick = setInterval(() => {
    void flushBrokerActivity().catch(() => undefined);
    if (running) return;
    const now = Date.now();
    for (const [id, since] of retry) if (now - since > RETRY_FOR_MS) retry.delete(id);
    enqueue(retry.keys());
  }, options.tickMs ?? 5_000);
  tick.unref();
  return () => {
    unsubscribe();
    clearInterval(tick);
    void flushBrokerActivity().catch(() => undefined);
  };
}
