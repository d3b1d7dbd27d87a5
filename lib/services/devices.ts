// Device use cases: create, read, list (keyset pagination), update, disable, decommission.
import { db, type Tx } from "../db";
import { AppError, notFound } from "../errors";
import { authorize, type Actor } from "../auth/roles";
import { withAudit } from "./audit";
import { announceRevocations, revokeInTx } from "./revocation";
import { REVOCATION_REASONS } from "../pki/revocation-reasons";
import { markPskChanged } from "./psk";
import { inventoryWhere, pageDevices } from "./inventory";
import { emitPskChanged } from "../events";
import { announceAccessChanged, markAccessChanged } from "./mqtt-access";
import type { TDeviceQuery, TDeviceUpdate, TNewDevice } from "../validation/devices";
import type { Prisma } from "../generated/sqlite/client";

const deviceInclude = { tags: { select: { tag: true }, orderBy: { tag: "asc" } } } as const;
type DeviceRow = Prisma.DeviceGetPayload<{ include: typeof deviceInclude }>;

export interface DeviceView {
  id: string;
  name: string;
  externalId: string | null;
  status: string;
  tags: string[];
  metadata: Record<string, unknown>;
  certNotAfter: Date | null;
  currentCertificateId: string | null;
  hasPsk: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export function toDeviceView(d: DeviceRow): DeviceView {
  return {
    id: d.id,
    name: d.name,
    externalId: d.externalId,
    status: d.status,
    tags: d.tags.map((t) => t.tag),
    metadata: JSON.parse(d.metadata) as Record<string, unknown>,
    certNotAfter: d.certNotAfter,
    currentCertificateId: d.currentCertId,
    hasPsk: d.hasPsk,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

async function assertUnique(tx: Tx, name: string | undefined, externalId: string | null | undefined, exceptId?: string) {
  if (name) {
    const other = await tx.device.findUnique({ where: { name }, select: { id: true } });
    if (other && other.id !== exceptId) throw new AppError("CONFLICT", `A device named "${name}" already exists`, [{ path: "name", message: "Already taken" }]);
  }
  if (externalId) {
    const other = await tx.device.findUnique({ where: { externalId }, select: { id: true } });
    if (other && other.id !== exceptId) {
      throw new AppError("CONFLICT", `A device with external id "${externalId}" already exists`, [{ path: "externalId", message: "Already taken" }]);
    }
  }
}

export async function createDevice(actor: Actor, input: TNewDevice): Promise<DeviceView> {
  authorize(actor, "devices:write");
  return withAudit(actor, async (tx) => {
    await assertUnique(tx, input.name, input.externalId);
    const device = await tx.device.create({
      data: {
        name: input.name,
        externalId: input.externalId,
        metadata: JSON.stringify(input.metadata ?? {}),
        tags: { create: (input.tags ?? []).map((tag) => ({ tag })) },
      },
      include: deviceInclude,
    });
    return {
      result: toDeviceView(device),
      audit: { action: "device.create", targetType: "device", targetId: device.id, details: { name: device.name, tags: input.tags ?? [] } },
    };
  });
}

export async function getDevice(actor: Actor, id: string): Promise<DeviceView> {
  authorize(actor, "devices:read");
  const device = await db().device.findUnique({ where: { id }, include: deviceInclude });
  if (!device) throw notFound("Device");
  return toDeviceView(device);
}

export async function updateDevice(actor: Actor, id: string, change: TDeviceUpdate): Promise<DeviceView> {
  authorize(actor, "devices:write");
  let accessChanged = false;
  const result = await withAudit(actor, async (tx) => {
    const device = await tx.device.findUnique({ where: { id } });
    if (!device) throw notFound("Device");
    if (device.status === "decommissioned") throw new AppError("INVALID_STATE", "A decommissioned device cannot be changed");
    await assertUnique(tx, undefined, change.externalId, id);
    if (change.tags) {
      await tx.deviceTag.deleteMany({ where: { deviceId: id } });
      if (change.tags.length) await tx.deviceTag.createMany({ data: change.tags.map((tag) => ({ deviceId: id, tag })) });
    }
    const updated = await tx.device.update({
      where: { id },
      data: {
        externalId: change.externalId,
        status: change.status,
        metadata: change.metadata ? JSON.stringify(change.metadata) : undefined,
      },
      include: deviceInclude,
    });
    // Status (disable / enable) and tags (tag topic policies) decide MQTT access.
    accessChanged = (change.status !== undefined && change.status !== device.status) || change.tags !== undefined;
    if (accessChanged) await markAccessChanged(tx);
    return { result: toDeviceView(updated), audit: { action: "device.update", targetType: "device", targetId: id, details: { name: device.name, change } } };
  });
  if (accessChanged) announceAccessChanged([id]);
  return result;
}

/**
 * Decommissioning is final: every certificate of the device is revoked (cessationOfOperation)
 * and its PSKs are revoked, in the same transaction.
 */
export async function decommissionDevice(actor: Actor, id: string): Promise<DeviceView> {
  authorize(actor, "devices:write");
  let revokedCaIds: string[] = [];
  const result = await withAudit(actor, async (tx) => {
    const device = await tx.device.findUnique({ where: { id } });
    if (!device) throw notFound("Device");
    if (device.status === "decommissioned") throw new AppError("INVALID_STATE", "The device is already decommissioned");
    // Held certificates too: a hold is not a revocation the device can come back from once it is gone.
    const certificates = await tx.certificate.findMany({
      where: { deviceId: id, OR: [{ status: { in: ["active", "superseded"] }, revokedAt: null }, { status: "revoked", revocationReason: REVOCATION_REASONS.certificateHold }] },
      select: { id: true },
    });
    ({ caIds: revokedCaIds } = await revokeInTx(tx, certificates.map((c) => c.id), REVOCATION_REASONS.cessationOfOperation, new Date()));
    const psks = await tx.psk.updateMany({ where: { deviceId: id, status: "active" }, data: { status: "revoked", revokedAt: new Date() } });
    if (psks.count) await markPskChanged(tx);
    await markAccessChanged(tx);
    // certNotAfter feeds the expiry views: a decommissioned device expires nothing any more.
    const updated = await tx.device.update({ where: { id }, data: { status: "decommissioned", hasPsk: false, certNotAfter: null }, include: deviceInclude });
    return {
      result: toDeviceView(updated),
      audit: {
        action: "device.decommission",
        targetType: "device",
        targetId: id,
        details: { name: device.name, revokedCertificates: certificates.length, revokedPsks: psks.count },
      },
    };
  });
  emitPskChanged();
  announceRevocations(revokedCaIds, [id]);
  return result;
}

export async function listDevices(actor: Actor, query: TDeviceQuery): Promise<{ items: DeviceView[]; nextCursor: string | null }> {
  authorize(actor, "devices:read");
  // The dashboard inventory's filter and keyset walk (index-friendly: prefix ranges, tag and serial
  // matches resolved to id lists first). "expiringWithinDays" = still valid and expiring within N
  // days; 0 asks for the expired ones.
  const where = await inventoryWhere({
    q: query.q,
    status: query.status,
    tag: query.tag?.toLowerCase(),
    within: query.expiringWithinDays || undefined,
    cert: query.expiringWithinDays === 0 ? "expired" : undefined,
    ca: query.caId,
    psk: query.hasPsk === undefined ? undefined : query.hasPsk ? "yes" : "no",
    est: query.est,
  });
  const { rows, nextCursor } = await pageDevices(where, query.sort, query.cursor, query.limit);
  return { items: rows.map(toDeviceView), nextCursor };
}
