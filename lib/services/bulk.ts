// Bulk renew / revoke over the inventory, one chunk per call so the browser can show progress and
// stop between chunks. Each device goes through the same single-device service (and audit event)
// as a click on its own page; a failure on one device does not stop the others.
import { db } from "../db";
import { authorize, type Actor } from "../auth/roles";
import { toAppError } from "../error-mapping";
import { renewCertificate, revokeCertificate } from "./certificates";
import { matchingDeviceIds } from "./inventory";
import type { TBulkOperation } from "../validation/bulk";
import { BULK_CHUNK_SIZE, type TInventoryFilter } from "../validation/inventory";

type BulkOperation = TBulkOperation;

export interface BulkItemResult {
  deviceId: string;
  name: string;
  outcome: "done" | "skipped" | "failed";
  message?: string;
  serialHex?: string;
  notAfter?: Date;
}

async function runOne(actor: Actor, operation: BulkOperation, device: { id: string; name: string; status: string; currentCertId: string | null }): Promise<BulkItemResult> {
  const base = { deviceId: device.id, name: device.name };
  if (!device.currentCertId) return { ...base, outcome: "skipped", message: "No certificate" };
  const cert = await db().certificate.findUnique({ where: { id: device.currentCertId }, select: { id: true, status: true } });
  if (!cert) return { ...base, outcome: "skipped", message: "No certificate" };
  try {
    if (operation.op === "renew") {
      if (device.status !== "active") return { ...base, outcome: "skipped", message: `Device is ${device.status}` };
      if (cert.status !== "active") return { ...base, outcome: "skipped", message: `Certificate is ${cert.status}` };
      const renewed = await renewCertificate(actor, cert.id, { rekey: false, revokeOld: false, format: "pem" });
      return { ...base, outcome: "done", serialHex: renewed.certificate.serialHex, notAfter: renewed.certificate.notAfter };
    }
    if (cert.status === "revoked") return { ...base, outcome: "skipped", message: "Already revoked" };
    const revoked = await revokeCertificate(actor, cert.id, operation.reason);
    return { ...base, outcome: "done", serialHex: revoked.serialHex };
  } catch (e) {
    return { ...base, outcome: "failed", message: toAppError(e).message };
  }
}

/** Runs the operation on explicitly selected devices (at most one chunk). */
export async function runBulkOnDevices(actor: Actor, operation: BulkOperation, deviceIds: string[]): Promise<BulkItemResult[]> {
  authorize(actor, "certificates:write");
  const devices = await db().device.findMany({ where: { id: { in: deviceIds.slice(0, BULK_CHUNK_SIZE) } }, select: { id: true, name: true, status: true, currentCertId: true }, orderBy: { name: "asc" } });
  const results: BulkItemResult[] = [];
  for (const d of devices) results.push(await runOne(actor, operation, d));
  return results;
}

/**
 * Runs the operation on the next chunk of devices matching `filter`, in name order after
 * `afterName`. Returns where to continue (null when done).
 */
export async function runBulkOnFilter(actor: Actor, operation: BulkOperation, filter: TInventoryFilter, afterName: string | null): Promise<{ results: BulkItemResult[]; nextAfter: string | null }> {
  authorize(actor, "certificates:write");
  const page = await matchingDeviceIds(actor, filter, afterName, BULK_CHUNK_SIZE);
  const results = await runBulkOnDevices(actor, operation, page.map((d) => d.id));
  return { results, nextAfter: page.length === BULK_CHUNK_SIZE ? page[page.length - 1].name : null };
}
