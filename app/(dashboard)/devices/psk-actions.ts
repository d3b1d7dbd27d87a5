"use server";
// Server actions for a device's PSK: thin — the shared wrapper authenticates, authorizes and
// validates; lib/services/psk does the work (same functions as the REST routes). The page binds
// the device id (`action.bind(null, id)`); it is validated with the rest of the input.
import { revalidatePath } from "next/cache";
import { authorizedAction, inputFields } from "@/lib/auth/action";
import { ZCreatePskForm, ZDevicePskForm, ZRevealPskForm } from "@/lib/validation/psk";
import { createOrRotatePsk, revealPsk, revokeDevicePsk } from "@/lib/services/psk";

function revalidateDevice(id: string) {
  revalidatePath("/devices");
  revalidatePath(`/devices/${id}`);
}

const createOrRotateAction = authorizedAction("psk:write", ZCreatePskForm, async (actor, { deviceId, identity, overlapSeconds }) => {
  const psk = await createOrRotatePsk(actor, deviceId, { identity, overlapSeconds });
  revalidateDevice(deviceId);
  // The key is shown once, in the form's result; it is not kept anywhere else.
  return { action: psk.action, identity: psk.identity, version: psk.version, key: psk.key, keyHex: psk.keyHex, replaced: psk.replaced };
});
/** Create the device's PSK or rotate it (`overlapSeconds` > 0 keeps the old key valid that long). */
export async function createOrRotatePskAction(deviceId: string, prev: unknown, input: FormData | unknown) {
  return createOrRotateAction(prev, { ...inputFields(input), deviceId });
}

const revokeAction = authorizedAction("psk:write", ZDevicePskForm, async (actor, { deviceId }) => {
  const result = await revokeDevicePsk(actor, deviceId);
  revalidateDevice(deviceId);
  return { revoked: result.revoked.map((p) => p.identity) };
});
export async function revokePskAction(deviceId: string, prev: unknown) {
  return revokeAction(prev, { deviceId });
}

const revealAction = authorizedAction("psk:reveal", ZRevealPskForm, async (actor, { deviceId, identity }) => {
  const psk = await revealPsk(actor, deviceId, { identity });
  return { identity: psk.identity, version: psk.version, key: psk.key, keyHex: psk.keyHex };
});
/** Admin only, audited. */
export async function revealPskAction(deviceId: string, prev: unknown, input: FormData | unknown) {
  return revealAction(prev, { ...inputFields(input), deviceId });
}
