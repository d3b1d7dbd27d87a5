"use server";
// Server action for a device's EST enrollment secret: the wrapper authenticates and authorizes;
// lib/services/est creates the secret (the same function as POST /api/v1/devices/{id}/enrollment
// and `certfleet enrollment create`). The page binds the device id.
import { revalidatePath } from "next/cache";
import { authorizedAction } from "@/lib/auth/action";
import { createEnrollmentSecret } from "@/lib/services/est";
import { ZEnrollmentSecretForm } from "@/lib/validation/est";

const createSecret = authorizedAction("certificates:write", ZEnrollmentSecretForm, async (actor, { deviceId }) => {
  const secret = await createEnrollmentSecret(actor, deviceId);
  revalidatePath(`/devices/${deviceId}`);
  // The password is shown once, in the action's result; only its hash is stored.
  return { username: secret.username, password: secret.password, expiresAt: secret.expiresAt, estUrl: secret.estUrl };
});
export async function createEnrollmentSecretAction(deviceId: string, prev: unknown) {
  return createSecret(prev, { deviceId });
}
