"use server";
// Settings → Notifications (admin): channels, rules, send test. The webhook secret is returned once.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { authorizedAction, inputFields } from "@/lib/auth/action";
import { ZId } from "@/lib/validation/common";
import { ZNotificationChannelInput, ZNotificationRuleInput, ZSetEnabled } from "@/lib/validation/notifications";
import {
  createNotificationChannel,
  createNotificationRule,
  deleteNotificationChannel,
  deleteNotificationRule,
  sendTestNotification,
  setNotificationChannelEnabled,
  setNotificationRuleEnabled,
} from "@/lib/services/notifications/manage";

const ZTarget = z.object({ id: ZId }).strict();
const ZToggle = ZSetEnabled.extend({ id: ZId });

const newChannel = authorizedAction("notifications:manage", ZNotificationChannelInput, async (actor, input) => {
  const channel = await createNotificationChannel(actor, input);
  revalidatePath("/settings");
  return { name: channel.name, kind: channel.kind, secret: channel.secret };
});
export async function createChannelAction(prev: unknown, form: FormData) {
  return newChannel(prev, form);
}

const toggleChannel = authorizedAction("notifications:manage", ZToggle, async (actor, { id, enabled }) => {
  const channel = await setNotificationChannelEnabled(actor, id, enabled);
  revalidatePath("/settings");
  return { name: channel.name, enabled: channel.enabled };
});
export async function setChannelEnabledAction(id: string, prev: unknown, change: unknown) {
  return toggleChannel(prev, { ...inputFields(change), id });
}

const dropChannel = authorizedAction("notifications:manage", ZTarget, async (actor, { id }) => {
  const channel = await deleteNotificationChannel(actor, id);
  revalidatePath("/settings");
  return channel;
});
export async function deleteChannelAction(id: string, prev: unknown) {
  return dropChannel(prev, { id });
}

const testChannel = authorizedAction("notifications:manage", ZTarget, async (actor, { id }) => {
  const outcome = await sendTestNotification(actor, id);
  revalidatePath("/settings");
  return outcome;
});
export async function testChannelAction(id: string, prev: unknown) {
  return testChannel(prev, { id });
}

const newRule = authorizedAction("notifications:manage", ZNotificationRuleInput, async (actor, input) => {
  const rule = await createNotificationRule(actor, input);
  revalidatePath("/settings");
  return { name: rule.name };
});
export async function createRuleAction(prev: unknown, form: FormData) {
  return newRule(prev, form);
}

const toggleRule = authorizedAction("notifications:manage", ZToggle, async (actor, { id, enabled }) => {
  const rule = await setNotificationRuleEnabled(actor, id, enabled);
  revalidatePath("/settings");
  return { name: rule.name, enabled: rule.enabled };
});
export async function setRuleEnabledAction(id: string, prev: unknown, change: unknown) {
  return toggleRule(prev, { ...inputFields(change), id });
}

const dropRule = authorizedAction("notifications:manage", ZTarget, async (actor, { id }) => {
  const rule = await deleteNotificationRule(actor, id);
  revalidatePath("/settings");
  return rule;
});
export async function deleteRuleAction(id: string, prev: unknown) {
  return dropRule(prev, { id });
}
