// The one poller behind the broker-facing revocation state (CRLs, OCSP caches and the MQTT auth
// backend's answers): twice a second it reads every issuing CA's revocationVersion, the number of
// its newest stored CRL, whether other instances share the database and the PSK / MQTT-access
// change markers, and hands that snapshot to all three; a change made in this process reaches
// them at once through the in-process events. Workers of one server (lib/server) also tell each
// other through their primary: a revocation committed in one marks every sibling's OCSP caches
// stale as soon as the message arrives (typically well under a millisecond; the poll stays the
// bound), and a CRL one stored is announced with its number and the moment it is served: each
// sibling loads it at once, well inside the short hold-back that siblings use (crl.ts
// SIBLING_HOLD_MS), and waits for that load on a request after the moment if it was late.
import { randomUUID } from "node:crypto";
import { db } from "../db";
import { emitRevocationChanged, onCrlStored, onRevocationChanged, revocationEventCount, type CrlStored, type RevocationSnapshot } from "../events";
import { castToSiblings, onPrimaryCast, SERVER_ID_ENV, TOPICS } from "../ipc";
import { followCrlState, onLocalCrlChange, stopCrlTimers, takeSiblingCrl } from "./crl";
import { followOcspState, onLocalOcspChange } from "./ocsp";
import { ACCESS_MARKER_KEYS, followAccessState } from "./mqtt-access";

/**
 * Each instance announces itself in the Setting table so that the others know whether a new CRL
 * must be held back until they can have loaded it (lib/services/crl.ts). A write every few
 * seconds, not every poll: on SQLite each write is a durable commit.
 */
const HEARTBEAT_MS = 3_000;
const PEER_TTL_MS = 10_000;
const INSTANCE_PREFIX = "instance:";

export function startRevocationState(options: { pollMs?: number; log?: (line: string) => void } = {}): () => void {
  // Three small indexed queries per poll; half a second keeps another instance's revocation and
  // CRL well inside a second, and the CRL hold-back (HOLD_MS) short.
  const pollMs = options.pollMs ?? 500;
  const log = options.log ?? ((line: string) => console.error(line));
  const instanceKey = `${INSTANCE_PREFIX}${randomUUID()}`;
  const server = process.env[SERVER_ID_ENV] ?? randomUUID();
  const beat = `${server} ${process.pid}`;
  let lastBeat = 0;
  let busy = false;
  let again = false;

  const unsubscribe = onRevocationChanged((caId, fromSibling) => {
    // OCSP first and synchronously: the revoking request has not been answered yet, and no OCSP
    // answer after it may come from a cache made before it.
    onLocalOcspChange(caId);
    // The sibling that revoked signs the CRL; this one reads the new version now.
    if (fromSibling) return void poll();
    onLocalCrlChange(caId, log);
    castToSiblings(TOPICS.revocation, caId);
  });
  const stopSiblingRevocations = onPrimaryCast(TOPICS.revocation, (caId) => emitRevocationChanged(String(caId), { fromSibling: true }));
  const stopCrlStored = onCrlStored((stored) => castToSiblings(TOPICS.crlStored, stored));
  // Loaded by number at once: a poll on top would only read the same CRL again.
  const stopSiblingCrls = onPrimaryCast(TOPICS.crlStored, (stored) => takeSiblingCrl(stored as CrlStored, log));

  const poll = async () => {
    // A slow poll (a busy database) is not stacked up; a nudge during one runs one more after it,
    // since the running poll's reads may have started before the sibling's commit.
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    again = false;
    try {
      const eventsBefore = revocationEventCount();
      const since = new Date(Date.now() - PEER_TTL_MS);
      // One read of the Setting table for both the other instances' heartbeats and the change markers.
      const [cas, newest, settings] = await Promise.all([
        db().certificateAuthority.findMany({ where: { kind: "issuing" }, select: { id: true, slug: true, revocationVersion: true }, orderBy: { createdAt: "asc" } }),
        db().crl.groupBy({ by: ["caId"], _max: { number: true } }),
        db().setting.findMany({
          where: { OR: [{ key: { startsWith: INSTANCE_PREFIX, not: instanceKey }, updatedAt: { gt: since } }, { key: { in: ACCESS_MARKER_KEYS } }] },
          select: { key: true, value: true },
          orderBy: { key: "asc" },
        }),
      ]);
      const peers = settings.filter((s) => s.key.startsWith(INSTANCE_PREFIX));
      const markers = settings.filter((s) => !s.key.startsWith(INSTANCE_PREFIX));
      const newestBy = new Map(newest.map((n) => [n.caId, n._max.number]));
      const remotePeers = peers.filter((p) => !p.value.startsWith(`${server} `)).length;
      const snapshot: RevocationSnapshot = {
        cas: cas.map((ca) => ({ ...ca, newestCrlNumber: newestBy.get(ca.id) ?? null })),
        eventsBefore,
        peers: peers.length,
        remotePeers,
        markers: markers.map((m) => `${m.key}=${m.value}`).join(";"),
      };
      followOcspState(snapshot);
      followCrlState(snapshot, log);
      followAccessState(snapshot);
      if (Date.now() - lastBeat >= HEARTBEAT_MS) {
        lastBeat = Date.now();
        await db().setting.upsert({ where: { key: instanceKey }, create: { key: instanceKey, value: beat }, update: { value: beat } });
      }
    } catch (e) {
      log(`[certfleet] revocation state poll failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      busy = false;
      if (again) void poll();
    }
  };

  // Announcements of instances that died without removing theirs (a day is far past any TTL).
  void db()
    .setting.deleteMany({ where: { key: { startsWith: INSTANCE_PREFIX }, updatedAt: { lt: new Date(Date.now() - 86_400_000) } } })
    .catch(() => undefined);
  void poll();
  const timer = setInterval(poll, pollMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    unsubscribe();
    stopSiblingRevocations();
    stopCrlStored();
    stopSiblingCrls();
    stopCrlTimers();
    void db().setting.deleteMany({ where: { key: instanceKey } }).catch(() => undefined);
  };
}
