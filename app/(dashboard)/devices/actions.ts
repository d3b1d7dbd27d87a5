"use server";
// Server actions for devices: thin — the shared wrapper authorizes and validates, services do the work.
// A target id is bound by the page (`action.bind(null, id)`) and validated like any other input.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { authorizedAction } from "@/lib/auth/action";
import { ZNewDevice, ZDeviceUpdate } from "@/lib/validation/devices";
import { ZId } from "@/lib/validation/common";
import { createDevice, decommissionDevice, updateDevice } from "@/lib/services/devices";
import { ZBulkOnDevices, ZBulkOnFilter, ZCountFilter } from "@/lib/validation/bulk";
import { runBulkOnDevices, runBulkOnFilter } from "@/lib/services/bulk";
import { countInventory } from "@/lib/services/inventory";

const ZNewDeviceForm = z.preprocess((raw) => {
  const v = raw as Record<string, unknown>;
  if (typeof v?.tags === "string") return { ...v, tags: v.tags.split(",").map((t) => t.trim()).filter(Boolean), externalId: v.externalId || undefined };
  return v;
}, ZNewDevice);

const createDeviceAction = authorizedAction("devices:write", ZNewDeviceForm, async (actor, input) => {
  const device = await createDevice(actor, input);
  revalidatePath("/devices");
  return { id: device.id, name: device.name };
});
export async function createDeviceFormAction(prev: unknown, form: FormData) {
  return createDeviceAction(prev, form);
}

const changeDevice = authorizedAction("devices:write", z.object({ id: ZId, change: ZDeviceUpdate }), async (actor, { id, change }) => {
  const device = await updateDevice(actor, id, change);
  revalidatePath(`/devices/${id}`);
  return { id: device.id, status: device.status };
});
export async function updateDeviceAction(id: string, prev: unknown, change: unknown) {
  return changeDevice(prev, { id, change });
}

const decommissionAction = authorizedAction("devices:write", z.object({ id: ZId }), async (actor, { id }) => {
  const device = await decommissionDevice(actor, id);
  revalidatePath(`/devices/${id}`);
  return { id: device.id, status: device.status };
});
export async function decommissionDeviceAction(id: string, prev: unknown) {
  return decommissionAction(prev, { id });
}

// ---- inventory: bulk work and counts ------------------------------------------------------------

const bulkOnDevices = authorizedAction("certificates:write", ZBulkOnDevices, async (actor, { operation, deviceIds }) => {
  const results = await runBulkOnDevices(actor, operation, deviceIds);
  revalidatePath("/devices");
  return results;
});
/** Renews or revokes the current certificate of up to BULK_CHUNK_SIZE selected devices. */
export async function bulkOnDevicesAction(prev: unknown, input: unknown) {
  return bulkOnDevices(prev, input);
}

const bulkOnFilter = authorizedAction("certificates:write", ZBulkOnFilter, async (actor, { operation, filter, afterName }) => {
  const result = await runBulkOnFilter(actor, operation, filter, afterName);
  revalidatePath("/devices");
  return result;
});
/** The next chunk of "all devices matching this filter"; call again with `nextAfter` until null. */
export async function bulkOnFilterAction(prev: unknown, input: unknown) {
  return bulkOnFilter(prev, input);
}

const countMatching = authorizedAction("devices:read", ZCountFilter, async (actor, { filter }) => countInventory(actor, filter));
export async function countMatchingDevicesAction(prev: unknown, input: unknown) {
  return countMatching(prev, input);
}
