"use server";
// Brokers (admin) and device topic policies (operator): thin wrappers over lib/services.
import { revalidatePath } from "next/cache";
import { authorizedAction, inputFields } from "@/lib/auth/action";
import { createBroker, deleteBroker } from "@/lib/services/brokers";
import { deleteTopicPolicy, setTopicPolicy } from "@/lib/services/topic-policies";
import { ZBrokerId, ZDeviceTopicPolicyForm, ZNewBrokerForm } from "@/lib/validation/brokers";

const newBroker = authorizedAction("brokers:manage", ZNewBrokerForm, async (actor, input) => {
  const broker = await createBroker(actor, input);
  revalidatePath("/brokers");
  // The auth URL with its secret goes to this answer only.
  return { name: broker.name, kind: broker.kind, authUrl: broker.authUrl };
});
export async function createBrokerAction(prev: unknown, form: FormData) {
  return newBroker(prev, form);
}

const dropBroker = authorizedAction("brokers:manage", ZBrokerId, async (actor, { id }) => {
  await deleteBroker(actor, id);
  revalidatePath("/brokers");
  return { id };
});
export async function deleteBrokerAction(id: string, prev: unknown) {
  return dropBroker(prev, { id });
}

const savePolicy = authorizedAction("devices:write", ZDeviceTopicPolicyForm, async (actor, { deviceId, publish, subscribe }) => {
  const policy = await setTopicPolicy(actor, "device", deviceId, { publish, subscribe });
  revalidatePath(`/devices/${deviceId}`);
  return policy;
});
/** `deviceId` is bound by the page. */
export async function saveTopicPolicyAction(deviceId: string, prev: unknown, form: FormData) {
  return savePolicy(prev, { ...inputFields(form), deviceId });
}

const resetPolicy = authorizedAction("devices:write", ZBrokerId, async (actor, { id }) => {
  const policy = await deleteTopicPolicy(actor, "device", id);
  revalidatePath(`/devices/${id}`);
  return policy;
});
export async function resetTopicPolicyAction(deviceId: string, prev: unknown) {
  return resetPolicy(prev, { id: deviceId });
}
