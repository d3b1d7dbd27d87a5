// Topic policies for the broker auth backend: per device, or per tag (a device without its own
// policy gets the union of its tags' policies; with none, the default devices/{name}/#).
import { db } from "../db";
import { AppError, notFound } from "../errors";
import { authorize, type Actor } from "../auth/roles";
import { DEFAULT_TOPIC_FILTERS } from "../broker/topics";
import { withAudit } from "./audit";
import { announceAccessChanged, markAccessChanged, topicFiltersFor } from "./mqtt-access";
import { ZTag, type TTopicPolicy } from "../validation/brokers";

function checkTag(target: string): string {
  const parsed = ZTag.safeParse(target);
  if (!parsed.success) throw new AppError("VALIDATION", "Not a valid tag", [{ path: "tag", message: parsed.error.issues[0]?.message ?? "Invalid" }]);
  return parsed.data;
}

export type TopicScope = "device" | "tag";

export interface TopicPolicyView {
  scope: TopicScope;
  target: string;
  publish: string[];
  subscribe: string[];
  /** Where the answer comes from: "device", "tag:<tags>" or "default" (for a device without its own). */
  source: string;
}

async function resolveTarget(scope: TopicScope, target: string): Promise<{ target: string; deviceIds: string[]; label: string }> {
  if (scope === "device") {
    const device = await db().device.findUnique({ where: { id: target }, select: { id: true, name: true } });
    if (!device) throw notFound("Device");
    return { target: device.id, deviceIds: [device.id], label: device.name };
  }
  const tag = checkTag(target);
  // Tagged devices re-check their access (only the auth cache cares; no session is closed for a policy).
  const tagged = await db().deviceTag.findMany({ where: { tag }, select: { deviceId: true }, take: 1000 });
  return { target: tag, deviceIds: tagged.map((t) => t.deviceId), label: tag };
}

/** A device's effective policy (its own, its tags', or the default), or a tag's own. */
export async function getTopicPolicy(actor: Actor, scope: TopicScope, target: string): Promise<TopicPolicyView> {
  authorize(actor, "devices:read");
  if (scope === "device") {
    const device = await db().device.findUnique({ where: { id: target }, select: { id: true, tags: { select: { tag: true } } } });
    if (!device) throw notFound("Device");
    const effective = await topicFiltersFor(device.id, device.tags.map((t) => t.tag));
    return { scope, target: device.id, ...effective };
  }
  const tag = checkTag(target);
  const row = await db().topicPolicy.findUnique({ where: { scope_target: { scope, target: tag } } });
  if (!row) return { scope, target: tag, publish: [], subscribe: [], source: "none" };
  return { scope, target: tag, publish: JSON.parse(row.publish) as string[], subscribe: JSON.parse(row.subscribe) as string[], source: `tag:${tag}` };
}

export async function setTopicPolicy(actor: Actor, scope: TopicScope, target: string, policy: TTopicPolicy): Promise<TopicPolicyView> {
  authorize(actor, "devices:write");
  const resolved = await resolveTarget(scope, target);
  const data = { publish: JSON.stringify([...new Set(policy.publish)]), subscribe: JSON.stringify([...new Set(policy.subscribe)]) };
  await withAudit(actor, async (tx) => {
    await tx.topicPolicy.upsert({ where: { scope_target: { scope, target: resolved.target } }, create: { scope, target: resolved.target, ...data }, update: data });
    await markAccessChanged(tx);
    return { result: undefined, audit: { action: "topic-policy.set", targetType: scope === "device" ? "device" : "tag", targetId: resolved.target, details: { scope, name: resolved.label, ...policy } } };
  });
  announceAccessChanged(resolved.deviceIds);
  return getTopicPolicy(actor, scope, resolved.target);
}

/** Back to the tags' policies / the default (devices/{name}/#). */
export async function deleteTopicPolicy(actor: Actor, scope: TopicScope, target: string): Promise<TopicPolicyView> {
  authorize(actor, "devices:write");
  const resolved = await resolveTarget(scope, target);
  await withAudit(actor, async (tx) => {
    await tx.topicPolicy.deleteMany({ where: { scope, target: resolved.target } });
    await markAccessChanged(tx);
    return { result: undefined, audit: { action: "topic-policy.delete", targetType: scope === "device" ? "device" : "tag", targetId: resolved.target, details: { scope, name: resolved.label } } };
  });
  announceAccessChanged(resolved.deviceIds);
  return getTopicPolicy(actor, scope, resolved.target);
}

export { DEFAULT_TOPIC_FILTERS };
