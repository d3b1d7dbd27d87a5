// Notification channels and rules (admin): create, list, enable/disable, delete, send a test; and
// the delivery log. Channel secrets (webhook HMAC key, SMTP password) are sealed under the master
// key in the same transaction as the row; only the webhook key is shown, once, at creation.
import { randomBytes } from "node:crypto";
import { db } from "../../db";
import { AppError, notFound } from "../../errors";
import { authorize, type Actor } from "../../auth/roles";
import { getMasterKey } from "../../secrets";
import { sealSecret } from "../../pki/keystore";
import { withAudit } from "../audit";
import type { TDeliveryQuery, TNotificationChannelInput, TNotificationRuleInput } from "../../validation/notifications";
import { channelSealContext, deliver, notificationEvent, type DeliveryOutcome } from "./delivery";

export interface ChannelView {
  id: string;
  name: string;
  kind: "webhook" | "email";
  enabled: boolean;
  /** Where it goes, without secrets: the webhook's origin (its path may itself be a secret), or SMTP host:port and recipients. */
  target: string;
  /** webhook: requests are signed; email: SMTP authentication is configured. */
  hasSecret: boolean;
  config: { host?: string; port?: number; security?: string; username?: string; from?: string; to?: string[] };
  createdAt: Date;
}

type ChannelRow = { id: string; name: string; kind: string; enabled: boolean; config: string; sealedSecret: string; createdAt: Date };

function toChannelView(c: ChannelRow): ChannelView {
  const cfg = JSON.parse(c.config) as { url?: string; host?: string; port?: number; security?: string; username?: string; from?: string; to?: string[] };
  let target: string;
  if (c.kind === "webhook") {
    const url = new URL(cfg.url!);
    target = `${url.origin}${url.pathname.length > 1 || url.search ? "/…" : "/"}`;
  } else target = `${cfg.host}:${cfg.port} → ${cfg.to?.join(", ")}`;
  const config = c.kind === "email" ? { host: cfg.host, port: cfg.port, security: cfg.security, username: cfg.username, from: cfg.from, to: cfg.to } : {};
  return { id: c.id, name: c.name, kind: c.kind as ChannelView["kind"], enabled: c.enabled, target, hasSecret: c.sealedSecret !== "", config, createdAt: c.createdAt };
}

export async function createNotificationChannel(actor: Actor, input: TNotificationChannelInput): Promise<ChannelView & { secret?: string }> {
  authorize(actor, "notifications:manage");
  const id = `nc${randomBytes(12).toString("hex")}`;
  // A webhook always signs: with the key given, or one made here and shown once.
  const secret = input.kind === "webhook" ? (input.secret ?? `whsec_${randomBytes(32).toString("base64url")}`) : input.password;
  const config =
    input.kind === "webhook"
      ? { url: input.url }
      : { host: input.host, port: input.port, security: input.security, username: input.username, from: input.from, to: input.to };
  if (input.kind === "email" && input.password && !input.username) throw new AppError("VALIDATION", "A password needs a username", [{ path: "username", message: "Required with a password" }]);
  const sealedSecret = secret ? sealSecret(getMasterKey(), new Uint8Array(Buffer.from(secret, "utf8")), channelSealContext(id)) : "";
  const row = await withAudit(actor, async (tx) => {
    if (await tx.notificationChannel.findUnique({ where: { name: input.name } })) throw new AppError("CONFLICT", `A channel named "${input.name}" already exists`);
    const created = await tx.notificationChannel.create({ data: { id, name: input.name, kind: input.kind, config: JSON.stringify(config), sealedSecret, createdBy: actor.label } });
    return { result: created, audit: { action: "notification.channel-create", targetType: "notification-channel", targetId: id, details: { name: input.name, kind: input.kind, target: toChannelView(created).target } } };
  });
  // The webhook key is the receiver's to keep: shown once. An SMTP password never comes back.
  return { ...toChannelView(row), ...(input.kind === "webhook" ? { secret } : {}) };
}

export async function listNotificationChannels(actor: Actor): Promise<ChannelView[]> {
  authorize(actor, "notifications:manage");
  const rows = await db().notificationChannel.findMany({ orderBy: { createdAt: "asc" } });
  return rows.map(toChannelView);
}

async function channelOrThrow(id: string) {
  const channel = await db().notificationChannel.findUnique({ where: { id } });
  if (!channel) throw notFound("Notification channel");
  return channel;
}

export async function setNotificationChannelEnabled(actor: Actor, id: string, enabled: boolean): Promise<ChannelView> {
  authorize(actor, "notifications:manage");
  return withAudit(actor, async (tx) => {
    const found = await tx.notificationChannel.findUnique({ where: { id } });
    if (!found) throw notFound("Notification channel");
    const row = await tx.notificationChannel.update({ where: { id }, data: { enabled } });
    return { result: toChannelView(row), audit: { action: enabled ? "notification.channel-enable" : "notification.channel-disable", targetType: "notification-channel", targetId: id, details: { name: row.name } } };
  });
}

export async function deleteNotificationChannel(actor: Actor, id: string): Promise<{ id: string; name: string }> {
  authorize(actor, "notifications:manage");
  return withAudit(actor, async (tx) => {
    const found = await tx.notificationChannel.findUnique({ where: { id }, include: { rules: { select: { name: true } } } });
    if (!found) throw notFound("Notification channel");
    if (found.rules.length) throw new AppError("CONFLICT", `Rules still send to "${found.name}": ${found.rules.map((r) => r.name).join(", ")}. Delete them first.`);
    await tx.notificationChannel.delete({ where: { id } });
    return { result: { id, name: found.name }, audit: { action: "notification.channel-delete", targetType: "notification-channel", targetId: id, details: { name: found.name } } };
  });
}

/** "Send test": one event of type "test" through the channel, logged like any delivery. */
export async function sendTestNotification(actor: Actor, id: string): Promise<DeliveryOutcome> {
  authorize(actor, "notifications:manage");
  const channel = await channelOrThrow(id);
  const event = notificationEvent(`test-${randomBytes(8).toString("hex")}`, "test", `Test notification for channel "${channel.name}"`, null, [{ channel: channel.name, requestedBy: actor.label }]);
  return deliver(channel, event, null);
}

// ---- Rules -----------------------------------------------------------------------------------------

export interface RuleView {
  id: string;
  name: string;
  kind: string;
  channelId: string;
  channelName: string;
  thresholds: number[];
  tag: string | null;
  caId: string | null;
  digest: boolean;
  spikeCount: number | null;
  windowMinutes: number | null;
  enabled: boolean;
  createdAt: Date;
}

type RuleRow = Omit<RuleView, "thresholds" | "channelName"> & { thresholds: string; channel: { name: string } };
const toRuleView = ({ channel, thresholds, ...r }: RuleRow): RuleView => ({ ...r, channelName: channel.name, thresholds: JSON.parse(thresholds) as number[] });

export async function createNotificationRule(actor: Actor, input: TNotificationRuleInput): Promise<RuleView> {
  authorize(actor, "notifications:manage");
  return withAudit(actor, async (tx) => {
    if (!(await tx.notificationChannel.findUnique({ where: { id: input.channelId }, select: { id: true } }))) {
      throw new AppError("VALIDATION", "Unknown notification channel", [{ path: "channelId", message: "No channel with this id" }]);
    }
    if (input.caId && !(await tx.certificateAuthority.findUnique({ where: { id: input.caId }, select: { id: true } }))) {
      throw new AppError("VALIDATION", "Unknown CA", [{ path: "caId", message: "No CA with this id" }]);
    }
    if (await tx.notificationRule.findUnique({ where: { name: input.name } })) throw new AppError("CONFLICT", `A rule named "${input.name}" already exists`);
    const row = await tx.notificationRule.create({
      data: {
        name: input.name,
        kind: input.kind,
        channelId: input.channelId,
        thresholds: JSON.stringify(input.thresholds),
        tag: input.tag ?? null,
        caId: input.caId ?? null,
        digest: input.digest,
        spikeCount: input.spikeCount ?? null,
        windowMinutes: input.windowMinutes ?? null,
        createdBy: actor.label,
      },
      include: { channel: { select: { name: true } } },
    });
    return { result: toRuleView(row), audit: { action: "notification.rule-create", targetType: "notification-rule", targetId: row.id, details: { name: row.name, kind: row.kind, channel: row.channel.name, thresholds: input.thresholds, tag: row.tag, caId: row.caId, digest: row.digest } } };
  });
}

export async function listNotificationRules(actor: Actor): Promise<RuleView[]> {
  authorize(actor, "notifications:manage");
  const rows = await db().notificationRule.findMany({ orderBy: { createdAt: "asc" }, include: { channel: { select: { name: true } } } });
  return rows.map(toRuleView);
}

export async function setNotificationRuleEnabled(actor: Actor, id: string, enabled: boolean): Promise<RuleView> {
  authorize(actor, "notifications:manage");
  return withAudit(actor, async (tx) => {
    if (!(await tx.notificationRule.findUnique({ where: { id }, select: { id: true } }))) throw notFound("Notification rule");
    const row = await tx.notificationRule.update({ where: { id }, data: { enabled }, include: { channel: { select: { name: true } } } });
    return { result: toRuleView(row), audit: { action: enabled ? "notification.rule-enable" : "notification.rule-disable", targetType: "notification-rule", targetId: id, details: { name: row.name } } };
  });
}

export async function deleteNotificationRule(actor: Actor, id: string): Promise<{ id: string; name: string }> {
  authorize(actor, "notifications:manage");
  return withAudit(actor, async (tx) => {
    const found = await tx.notificationRule.findUnique({ where: { id }, select: { name: true } });
    if (!found) throw notFound("Notification rule");
    await tx.notificationRule.delete({ where: { id } });
    return { result: { id, name: found.name }, audit: { action: "notification.rule-delete", targetType: "notification-rule", targetId: id, details: { name: found.name } } };
  });
}

// ---- Delivery log ------------------------------------------------------------------------------------

export interface DeliveryView {
  id: string;
  channelId: string;
  channelName: string;
  channelKind: string;
  alertId: string | null;
  type: string;
  attempt: number;
  outcome: string;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  createdAt: Date;
}

export async function listNotificationDeliveries(actor: Actor, query: Partial<TDeliveryQuery> = {}): Promise<DeliveryView[]> {
  authorize(actor, "notifications:manage");
  const rows = await db().notificationDelivery.findMany({
    where: { outcome: query.outcome, channelId: query.channelId },
    orderBy: { createdAt: "desc" },
    take: query.limit ?? 50,
    include: { channel: { select: { name: true, kind: true } } },
  });
  return rows.map(({ channel, ...d }) => ({ ...d, channelName: channel.name, channelKind: channel.kind }));
}

export interface FailedDeliveries {
  /** Failed attempts in the last 24 hours. */
  count: number;
  latest: DeliveryView[];
}

/** For the overview: recent failed delivery attempts (anyone who may read the audit trail sees them). */
export async function getFailedDeliveries(actor: Actor, now = new Date()): Promise<FailedDeliveries> {
  authorize(actor, "audit:read");
  const since = new Date(now.getTime() - 86_400_000);
  const where = { outcome: "failure", createdAt: { gte: since } };
  const [count, rows] = await Promise.all([
    db().notificationDelivery.count({ where }),
    db().notificationDelivery.findMany({ where, orderBy: { createdAt: "desc" }, take: 5, include: { channel: { select: { name: true, kind: true } } } }),
  ]);
  return { count, latest: rows.map(({ channel, ...d }) => ({ ...d, channelName: channel.name, channelKind: channel.kind })) };
}
