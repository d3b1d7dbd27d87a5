// PSK use cases: create or rotate (optionally with an overlap window), revoke, reveal (admin),
// list, and the brokers' PSK files (built from an in-memory snapshot, see getPskFile).
//
// Identities and rotation (why it works this way):
// - Both brokers hold ONE key per identity (Mosquitto: first line wins; EMQX: a map). So a
//   rotation WITH an overlap window needs a second identity: `<base>.v<n>`; the old PSK gets
//   expiresAt = now + window, stays in the exports until then and drops out by itself.
// - A rotation WITHOUT overlap keeps the identity and replaces the secret in place: the device's
//   MQTT username (use_identity_as_username) and the ACLs keyed on it do not change, and the old
//   key stops working at the broker's next reload because its identity now carries the new key.
// - After a revocation, a new PSK for the same device may take its old identity again (it gets a
//   fresh secret); an identity never moves to another device (409).
// - The secret S is returned only by create/rotate and by reveal (admin, audited); it is stored
//   only sealed under the master key with the context `psk:<identity>`, and never logged.
import { createHash, randomBytes } from "node:crypto";
import { db, type Tx } from "../db";
import { config } from "../config";
import { AppError, notFound } from "../errors";
import { authorize, type Actor } from "../auth/roles";
import { emitAccessChanged, emitPskChanged, onPskChanged } from "../events";
import { getMasterKey } from "../secrets";
import { openSecret, sealSecret } from "../pki/keystore";
import { fixedClock } from "../pki/clock";
import {
  buildPskFile,
  describePskKey,
  generatePskSecret,
  isPskLive,
  pskIdentityBase,
  pskIdentityForVersion,
  type ExportablePsk,
  type PskFormat,
} from "../pki/psk";
import { withAudit } from "./audit";
import type { TCreatePsk, TRevealPsk } from "../validation/psk";
import type { Prisma } from "../generated/sqlite/client";

type PskRow = Prisma.PskGetPayload<object>;

/** How long a dead identity keeps its tombstone line in the EMQX export. */
export const PSK_TOMBSTONE_RETENTION_DAYS = 30;
const TOMBSTONE_RETENTION_MS = PSK_TOMBSTONE_RETENTION_DAYS * 86_400_000;

/** Setting row bumped in every PSK transaction: other instances on the same database see it. */
const CHANGE_MARKER_KEY = "psk.changed";

export interface PskView {
  id: string;
  deviceId: string;
  identity: string;
  version: number;
  /** active | expired (its overlap window ended) | revoked */
  status: "active" | "expired" | "revoked";
  /** The device's current PSK (live, no overlap end). */
  current: boolean;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

/** Returned once, by create/rotate and reveal: the key in both encodings (see lib/pki/psk.ts). */
export interface PskSecretView extends PskView {
  /** S: raw key bytes as ASCII for EMQX and the device. */
  key: string;
  /** hex(ASCII(S)): for Mosquitto's psk_file and `mosquitto_pub --psk`. */
  keyHex: string;
}

export interface PskIssued extends PskSecretView {
  action: "create" | "rotate";
  /**
   * Keys this call retired and until when the broker still accepts each: now (revoked; for an
   * in-place rotation the identity stays and only its old key is dead), or the overlap end.
   */
  replaced: { identity: string; validUntil: Date }[];
}

function toPskView(p: PskRow, now = new Date()): PskView {
  const live = isPskLive(p, now);
  return {
    id: p.id,
    deviceId: p.deviceId,
    identity: p.identity,
    version: p.version,
    status: p.status === "active" ? (live ? "active" : "expired") : "revoked",
    current: live && p.expiresAt === null,
    expiresAt: p.expiresAt,
    revokedAt: p.revokedAt,
    createdAt: p.createdAt,
  };
}

const sealContext = (identity: string) => `psk:${identity}`;

function sealPsk(identity: string, secret: string): string {
  return sealSecret(getMasterKey(), new Uint8Array(Buffer.from(secret, "ascii")), sealContext(identity));
}

function openPsk(row: Pick<PskRow, "identity" | "sealedSecret">, masterKey = getMasterKey()): string {
  return Buffer.from(openSecret(masterKey, row.sealedSecret, sealContext(row.identity))).toString("ascii");
}

/**
 * Records, inside the caller's transaction, that the exportable PSK set changed, so the export
 * caches of every instance rebuild. Call it from any service that changes PSK rows outside this
 * file (and emitPskChanged() after the commit).
 */
export async function markPskChanged(tx: Tx): Promise<void> {
  const value = `${Date.now()}.${randomBytes(6).toString("hex")}`;
  await tx.setting.upsert({ where: { key: CHANGE_MARKER_KEY }, create: { key: CHANGE_MARKER_KEY, value }, update: { value } });
}

/** What a rotation was decided against: every PSK row of one device (a rotation changes at least one). */
function pskStateTag(psks: PskRow[]): string {
  const rows = psks.map((p) => `${p.id}:${p.sealedSecret}:${p.status}:${p.expiresAt?.getTime() ?? ""}`);
  return createHash("sha256").update(rows.join("\n")).digest("base64url");
}

async function loadDeviceForPsk(tx: Tx, deviceId: string) {
  const device = await tx.device.findUnique({ where: { id: deviceId } });
  if (!device) throw notFound("Device");
  return device;
}

/**
 * Takes an identity for `deviceId`: null when it is free, the row to re-key when it is a dead PSK
 * of the same device; 409 when another device has it or a live PSK uses it.
 */
async function claimIdentity(tx: Tx, deviceId: string, identity: string, now: Date): Promise<PskRow | null> {
  const existing = await tx.psk.findUnique({ where: { identity } });
  if (!existing) return null;
  if (existing.deviceId !== deviceId) {
    throw new AppError("CONFLICT", `PSK identity "${identity}" belongs to another device; choose another identity`, [{ path: "identity", message: "Already taken" }]);
  }
  if (isPskLive(existing, now)) {
    throw new AppError("CONFLICT", `PSK identity "${identity}" is in use by a live PSK of this device`, [{ path: "identity", message: "In use" }]);
  }
  return existing;
}

async function writeSecret(tx: Tx, params: { deviceId: string; identity: string; version: number; secret: string; reuse: PskRow | null }): Promise<PskRow> {
  const sealedSecret = sealPsk(params.identity, params.secret);
  if (params.reuse) {
    return tx.psk.update({
      where: { id: params.reuse.id },
      data: { sealedSecret, version: params.version, status: "active", expiresAt: null, revokedAt: null },
    });
  }
  return tx.psk.create({ data: { deviceId: params.deviceId, identity: params.identity, version: params.version, sealedSecret } });
}

/**
 * Creates the device's PSK, or rotates it when it has one. With `overlapSeconds` > 0 a rotation
 * creates the next identity version and leaves the old key valid for that long; without it the
 * identity stays and only the secret changes (old key dead at once). Returns the key once.
 */
export async function createOrRotatePsk(actor: Actor, deviceId: string, input: TCreatePsk): Promise<PskIssued> {
  authorize(actor, "psk:write");
  const secret = generatePskSecret();
  // The PSK state this request was made against. Concurrent rotations of one device would each
  // answer 201 with a key that the next one kills at once: only the first to commit wins, the
  // others are told which key won and change nothing (as concurrent renewals of a certificate).
  const seen = pskStateTag(await db().psk.findMany({ where: { deviceId }, orderBy: { version: "asc" } }));
  const issued = await withAudit(actor, async (tx) => {
    const now = new Date();
    const device = await loadDeviceForPsk(tx, deviceId);
    if (device.status !== "active") throw new AppError("INVALID_STATE", `Device "${device.name}" is ${device.status}; only active devices get a PSK`);
    // Writing the device row first serialises PSK changes of one device (row lock on PostgreSQL;
    // SQLite has a single writer), so two rotations cannot both see the same "current" PSK.
    await tx.device.update({ where: { id: deviceId }, data: { hasPsk: true } });
    const psks = await tx.psk.findMany({ where: { deviceId }, orderBy: { version: "asc" } });
    const live = psks.filter((p) => isPskLive(p, now));
    const current = live.find((p) => p.expiresAt === null) ?? null;
    if (pskStateTag(psks) !== seen) {
      const won = current ? `identity "${current.identity}" (version ${current.version}) is now current` : "the device has no live PSK now";
      throw new AppError("CONFLICT", `Another change to this device's PSK committed first: ${won}. Nothing was changed; rotate again for a newer key.`);
    }
    // At most two live keys: the new one and, during an overlap window, the one it replaces.
    // Older overlapping keys die now instead of piling up one identity per rotation.
    const others = live.filter((p) => p !== current);
    const nextVersion = psks.reduce((max, p) => Math.max(max, p.version), 0) + 1;
    const overlap = input.overlapSeconds ?? 0;
    const replaced: PskIssued["replaced"] = [];
    let row: PskRow;

    if (!current) {
      const identity = input.identity ?? pskIdentityForVersion(device.name, 1);
      const reuse = await claimIdentity(tx, deviceId, identity, now);
      row = await writeSecret(tx, { deviceId, identity, version: reuse ? reuse.version : nextVersion, secret, reuse });
    } else if (overlap > 0) {
      const until = new Date(now.getTime() + overlap * 1000);
      for (const old of others) {
        await tx.psk.update({ where: { id: old.id }, data: { status: "revoked", revokedAt: now } });
        replaced.push({ identity: old.identity, validUntil: now });
      }
      await tx.psk.update({ where: { id: current.id }, data: { expiresAt: until } });
      replaced.unshift({ identity: current.identity, validUntil: until });
      const identity = input.identity ?? pskIdentityForVersion(pskIdentityBase(current.identity, current.version), nextVersion);
      const reuse = await claimIdentity(tx, deviceId, identity, now);
      row = await writeSecret(tx, { deviceId, identity, version: nextVersion, secret, reuse });
    } else {
      const sameIdentity = input.identity === undefined || input.identity === current.identity;
      const retire = sameIdentity ? others : [current, ...others];
      for (const old of retire) {
        await tx.psk.update({ where: { id: old.id }, data: { status: "revoked", revokedAt: now } });
        replaced.push({ identity: old.identity, validUntil: now });
      }
      if (sameIdentity) {
        row = await tx.psk.update({ where: { id: current.id }, data: { sealedSecret: sealPsk(current.identity, secret) } });
        replaced.unshift({ identity: current.identity, validUntil: now });
      } else {
        const reuse = await claimIdentity(tx, deviceId, input.identity!, now);
        row = await writeSecret(tx, { deviceId, identity: input.identity!, version: nextVersion, secret, reuse });
      }
    }
    await markPskChanged(tx);
    const action = current ? "rotate" : "create";
    return {
      result: { ...toPskView(row, now), ...describePskKey(secret), action, replaced } satisfies PskIssued,
      audit: {
        action: `psk.${action}`,
        targetType: "device",
        targetId: deviceId,
        details: {
          device: device.name,
          pskId: row.id,
          identity: row.identity,
          version: row.version,
          ...(current ? { overlapSeconds: overlap } : {}),
          replaced,
        },
      },
    };
  });
  emitPskChanged();
  return issued;
}

/** Revokes every live PSK of the device: they leave the exports at once (EMQX gets tombstones). */
export async function revokeDevicePsk(actor: Actor, deviceId: string): Promise<{ deviceId: string; revoked: PskView[] }> {
  authorize(actor, "psk:write");
  const result = await withAudit(actor, async (tx) => {
    const now = new Date();
    const device = await loadDeviceForPsk(tx, deviceId);
    await tx.device.update({ where: { id: deviceId }, data: { hasPsk: false } });
    const live = (await tx.psk.findMany({ where: { deviceId, status: "active" }, orderBy: { version: "asc" } })).filter((p) => isPskLive(p, now));
    if (live.length === 0) throw new AppError("NOT_FOUND", `Device "${device.name}" has no live PSK`);
    const revoked: PskView[] = [];
    for (const p of live) revoked.push(toPskView(await tx.psk.update({ where: { id: p.id }, data: { status: "revoked", revokedAt: now } }), now));
    await markPskChanged(tx);
    return {
      result: { deviceId, revoked },
      audit: { action: "psk.revoke", targetType: "device", targetId: deviceId, details: { device: device.name, identities: revoked.map((p) => p.identity) } },
    };
  });
  emitPskChanged();
  // A device whose only credential was this PSK loses MQTT access: close its live sessions.
  emitAccessChanged([deviceId]);
  return result;
}

/** Shows a live PSK's key again (admin only); the reveal is audited before the key is returned. */
export async function revealPsk(actor: Actor, deviceId: string, input: TRevealPsk = {}): Promise<PskSecretView> {
  authorize(actor, "psk:reveal");
  return withAudit(actor, async (tx) => {
    const now = new Date();
    const device = await loadDeviceForPsk(tx, deviceId);
    const live = (await tx.psk.findMany({ where: { deviceId, status: "active" }, orderBy: { version: "desc" } })).filter((p) => isPskLive(p, now));
    const psk = input.identity ? live.find((p) => p.identity === input.identity) : (live.find((p) => p.expiresAt === null) ?? live[0]);
    if (!psk) throw new AppError("NOT_FOUND", input.identity ? `Device "${device.name}" has no live PSK "${input.identity}"` : `Device "${device.name}" has no live PSK`);
    const secret = openPsk(psk);
    return {
      result: { ...toPskView(psk, now), ...describePskKey(secret) },
      audit: { action: "psk.reveal", targetType: "device", targetId: deviceId, details: { device: device.name, pskId: psk.id, identity: psk.identity } },
    };
  });
}

/** The device's PSKs (never their secrets), newest version first. */
export async function listDevicePsks(actor: Actor, deviceId: string): Promise<PskView[]> {
  authorize(actor, "psk:read");
  const device = await db().device.findUnique({ where: { id: deviceId }, select: { id: true } });
  if (!device) throw notFound("Device");
  const now = new Date();
  const rows = await db().psk.findMany({ where: { deviceId }, orderBy: [{ version: "desc" }, { createdAt: "desc" }] });
  return rows.map((p) => toPskView(p, now));
}

// ---------------------------------------------------------------------------------------------
// Broker export. Built from the database at most when something changed, then served from memory
// (brokers poll; rule 6: no per-request scans). A snapshot is dropped when
//   - this process changes a PSK (onPskChanged),
//   - its content changes by itself (an overlap window ends, a tombstone's retention ends),
//   - another instance changed PSKs: the marker is read at most once a second per format. The
//     marker includes the latest revocation time, which also catches decommissionDevice
//     (lib/services/devices.ts revokes PSKs without calling markPskChanged).
// The snapshot holds live secrets: it is never logged.

export interface PskFile {
  format: PskFormat;
  body: Buffer;
  /** Strong ETag: a hash of the body. */
  etag: string;
  liveCount: number;
  tombstoneCount: number;
}

interface Snapshot extends PskFile {
  source: string;
  generation: number;
  marker: string;
  validUntil: number | null;
  checkedAt: number;
}

const MARKER_CHECK_MS = 1000;
const PAGE = 5000;

const cache = {
  generation: 0,
  listening: false,
  snapshots: new Map<PskFormat, Snapshot>(),
  building: new Map<PskFormat, { generation: number; source: string; promise: Promise<Snapshot> }>(),
};

function listenForChanges() {
  if (cache.listening) return;
  cache.listening = true;
  onPskChanged(() => {
    cache.generation++;
    cache.snapshots.clear();
  });
}

async function readChangeMarker(): Promise<string> {
  const [setting, revoked] = await Promise.all([
    db().setting.findUnique({ where: { key: CHANGE_MARKER_KEY } }),
    db().psk.aggregate({ where: { status: "revoked" }, _max: { revokedAt: true } }),
  ]);
  return `${setting?.value ?? "-"}|${revoked._max.revokedAt?.toISOString() ?? "-"}`;
}

async function buildSnapshot(format: PskFormat, generation: number, source: string): Promise<Snapshot> {
  // Read the marker first: a change committed while we load makes the next check rebuild.
  const marker = await readChangeMarker();
  const now = new Date();
  const liveWhere: Prisma.PskWhereInput = { status: "active", OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] };
  let where: Prisma.PskWhereInput = liveWhere;
  if (format === "emqx") {
    const cutoff = new Date(now.getTime() - TOMBSTONE_RETENTION_MS);
    where = { OR: [liveWhere, { status: "active", expiresAt: { gt: cutoff, lte: now } }, { status: { not: "active" }, revokedAt: { gt: cutoff } }] };
  }
  const masterKey = getMasterKey();
  const psks: ExportablePsk[] = [];
  let after: string | undefined;
  for (;;) {
    const rows = await db().psk.findMany({
      where: after ? { AND: [where, { id: { gt: after } }] } : where,
      orderBy: { id: "asc" },
      take: PAGE,
      select: { id: true, identity: true, sealedSecret: true, status: true, expiresAt: true, revokedAt: true },
    });
    for (const r of rows) {
      // Anything not "active" counts as revoked: fail closed.
      const p: ExportablePsk = { identity: r.identity, status: r.status === "active" ? "active" : "revoked", expiresAt: r.expiresAt, revokedAt: r.revokedAt };
      if (isPskLive(p, now)) p.secret = openPsk(r, masterKey);
      psks.push(p);
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1].id;
  }
  const built = buildPskFile(psks, { format, clock: fixedClock(now), tombstoneRetentionMs: TOMBSTONE_RETENTION_MS, masterKey });
  const body = Buffer.from(built.body, "utf8");
  return {
    format,
    body,
    etag: `"${createHash("sha256").update(body).digest("base64url")}"`,
    liveCount: built.liveCount,
    tombstoneCount: built.tombstoneCount,
    source,
    generation,
    marker,
    validUntil: built.changesAt?.getTime() ?? null,
    checkedAt: Date.now(),
  };
}

/** The PSK file for a broker (role broker or admin), from the in-memory snapshot when it is current. */
export async function getPskFile(actor: Actor, format: PskFormat): Promise<PskFile> {
  authorize(actor, "broker:read");
  listenForChanges();
  // Tests (and the CLI) may point one process at several databases in turn.
  const source = config().databaseUrl;
  const now = Date.now();
  const snapshot = cache.snapshots.get(format);
  if (snapshot && snapshot.source === source && snapshot.generation === cache.generation && (snapshot.validUntil === null || now < snapshot.validUntil)) {
    if (now - snapshot.checkedAt < MARKER_CHECK_MS) return snapshot;
    if ((await readChangeMarker()) === snapshot.marker) {
      snapshot.checkedAt = Date.now();
      return snapshot;
    }
  }
  const generation = cache.generation;
  const pending = cache.building.get(format);
  if (pending && pending.generation === generation && pending.source === source) return pending.promise;
  const promise = buildSnapshot(format, generation, source).then(
    (built) => {
      if (cache.generation === generation) cache.snapshots.set(format, built);
      return built;
    },
  );
  const entry = { generation, source, promise };
  cache.building.set(format, entry);
  const clear = () => {
    if (cache.building.get(format) === entry) cache.building.delete(format);
  };
  promise.then(clear, clear);
  return promise;
}
