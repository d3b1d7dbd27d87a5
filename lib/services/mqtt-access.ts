// Who may use the MQTT brokers, as CertFleet's broker auth backend answers it (lib/http/broker-auth.ts):
// a device is allowed only while it is active and has a current, unrevoked, unexpired certificate
// or a live PSK; its topics come from its topic policy (device, else its tags, else the default).
//
// Answers come from memory. Per device name: one indexed read (device by its unique name, its
// current certificate by id, a live PSK by the (deviceId, status) index, its policy by its unique
// key) when nothing is cached, then the cached answer until
//   - this process changes something (revocation, PSK, access events: dropped at once),
//   - another instance does: the revocation-state poller (twice a second) sees a CA's
//     revocationVersion or a change marker move and drops everything (followAccessState),
//   - a refusal is older than DENY_TTL_MS (a certificate issued meanwhile lets the device in),
//   - the certificate or PSK it rested on expires.
// So a revoke, disable or decommission is refused within about a second on every instance.
import { randomBytes } from "node:crypto";
import { db, type Tx } from "../db";
import { config } from "../config";
import { emitAccessChanged, onAccessChanged, onPskChanged, onRevocationChanged, type RevocationSnapshot } from "../events";
import { DEFAULT_TOPIC_FILTERS } from "../broker/topics";

/** Setting row bumped in the transaction of every access change (status, topic policy, broker). */
export const ACCESS_MARKER_KEY = "mqtt.access.changed";
/** Markers the poller reads: ours and the PSK export's (lib/services/psk.ts). */
export const ACCESS_MARKER_KEYS = [ACCESS_MARKER_KEY, "psk.changed"];

const DENY_TTL_MS = 1_000;
/** A safety net only: every change that matters drops entries long before. */
const ALLOW_TTL_MS = 60_000;
const MAX_ENTRIES = 200_000;

export interface DeviceAccess {
  name: string;
  allowed: boolean;
  /** Why: "certificate", "psk", or the refusal ("unknown device", "disabled", "no valid certificate or PSK"). */
  reason: string;
  deviceId?: string;
  publish: string[];
  subscribe: string[];
}

interface Entry extends DeviceAccess {
  generation: number;
  at: number;
  /** The certificate's notAfter or the PSK's expiresAt: the answer holds until then. */
  validUntil: number;
}

const g = globalThis as unknown as { __certfleetAccess?: { generation: number; lastSeen: string | null; listening: boolean; source: string; cache: Map<string, Entry> } };
const state = (g.__certfleetAccess ??= { generation: 0, lastSeen: null, listening: false, source: "", cache: new Map() });

function invalidate() {
  state.generation++;
  state.cache.clear();
}

function listen() {
  if (state.listening) return;
  state.listening = true;
  onRevocationChanged(invalidate);
  onPskChanged(invalidate);
  onAccessChanged(invalidate);
}

/** Called by the revocation-state poller: another instance's change drops every cached answer. */
export function followAccessState(snapshot: RevocationSnapshot): void {
  const seen = `${snapshot.cas.map((ca) => `${ca.id}:${ca.revocationVersion}`).join(",")}|${snapshot.markers ?? ""}`;
  if (state.lastSeen !== null && state.lastSeen !== seen) invalidate();
  state.lastSeen = seen;
}

/** Inside the caller's transaction: other instances drop their cached answers at their next poll. */
export async function markAccessChanged(tx: Tx): Promise<void> {
  const value = `${Date.now()}.${randomBytes(6).toString("hex")}`;
  await tx.setting.upsert({ where: { key: ACCESS_MARKER_KEY }, create: { key: ACCESS_MARKER_KEY, value }, update: { value } });
}

/** After the commit of a change that marked access changed. */
export function announceAccessChanged(deviceIds: string[]): void {
  emitAccessChanged(deviceIds);
}

function parseFilters(json: string): string[] {
  try {
    const value = JSON.parse(json) as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}

/** The topic filters of a device: its own policy, else the union of its tags' policies, else the default. */
export async function topicFiltersFor(deviceId: string, tags: string[]): Promise<{ publish: string[]; subscribe: string[]; source: string }> {
  const own = await db().topicPolicy.findUnique({ where: { scope_target: { scope: "device", target: deviceId } } });
  if (own) return { publish: parseFilters(own.publish), subscribe: parseFilters(own.subscribe), source: "device" };
  if (tags.length) {
    const byTag = await db().topicPolicy.findMany({ where: { scope: "tag", target: { in: tags } }, orderBy: { target: "asc" } });
    if (byTag.length) {
      return {
        publish: [...new Set(byTag.flatMap((p) => parseFilters(p.publish)))],
        subscribe: [...new Set(byTag.flatMap((p) => parseFilters(p.subscribe)))],
        source: `tag:${byTag.map((p) => p.target).join(",")}`,
      };
    }
  }
  return { publish: [...DEFAULT_TOPIC_FILTERS], subscribe: [...DEFAULT_TOPIC_FILTERS], source: "default" };
}

/** Reads the answer from the database (no cache): also what the session closer checks. */
export async function readDeviceAccess(name: string, now = new Date()): Promise<DeviceAccess & { validUntil: number }> {
  const refuse = (reason: string, deviceId?: string) => ({ name, allowed: false, reason, deviceId, publish: [], subscribe: [], validUntil: Number.POSITIVE_INFINITY });
  const device = await db().device.findUnique({
    where: { name },
    select: { id: true, status: true, currentCertId: true, hasPsk: true, tags: { select: { tag: true } } },
  });
  if (!device) return refuse("unknown device");
  if (device.status !== "active") return refuse(device.status, device.id);
  let validUntil: number | undefined;
  let reason = "";
  if (device.currentCertId) {
    const cert = await db().certificate.findUnique({ where: { id: device.currentCertId }, select: { status: true, revokedAt: true, notBefore: true, notAfter: true } });
    if (cert && cert.status === "active" && !cert.revokedAt && cert.notBefore <= now && cert.notAfter > now) {
      validUntil = cert.notAfter.getTime();
      reason = "certificate";
    }
  }
  if (validUntil === undefined && device.hasPsk) {
    const psk = await db().psk.findFirst({
      where: { deviceId: device.id, status: "active", OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      select: { expiresAt: true },
    });
    if (psk) {
      validUntil = psk.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
      reason = "psk";
    }
  }
  if (validUntil === undefined) return refuse("no valid certificate or PSK", device.id);
  const topics = await topicFiltersFor(device.id, device.tags.map((t) => t.tag));
  return { name, allowed: true, reason, deviceId: device.id, publish: topics.publish, subscribe: topics.subscribe, validUntil };
}

/** The cached answer for a device name (see the top of the file for how it follows the database). */
export async function deviceAccess(name: string): Promise<DeviceAccess> {
  listen();
  // Tests point one process at several databases in turn.
  const source = config().databaseUrl;
  if (state.source !== source) {
    state.source = source;
    invalidate();
  }
  const now = Date.now();
  const hit = state.cache.get(name);
  if (hit && hit.generation === state.generation && now < hit.validUntil && now - hit.at < (hit.allowed ? ALLOW_TTL_MS : DENY_TTL_MS)) return hit;
  // The generation before the read: a change committed during it makes this answer stale at once.
  const generation = state.generation;
  const fresh = await readDeviceAccess(name, new Date(now));
  if (generation === state.generation) {
    if (state.cache.size >= MAX_ENTRIES) state.cache.clear();
    state.cache.set(name, { ...fresh, generation, at: now });
  }
  return fresh;
}

/** For tests and the bench: forget every cached answer. */
export function resetAccessCacheForTests(): void {
  invalidate();
}
