// Notification channels (webhook, email), rules and the delivery log query. Shared by the server
// actions (Settings → Notifications) and the REST API (/api/v1/notification-*).
import { z } from "zod";
import { blankToUndefined, ZBoolish, ZId, ZLimit, ZTag } from "./common";

export const CHANNEL_KINDS = ["webhook", "email"] as const;
export const SMTP_SECURITY = ["tls", "starttls", "none"] as const;
export const RULE_KINDS = ["certificate-expiry", "certificate-expired", "signer-expiry", "revocation", "est-refusals"] as const;
export type TRuleKind = (typeof RULE_KINDS)[number];

const ZName = z
  .string()
  .trim()
  .min(1, "Required")
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, "Letters, digits, spaces, '.', '_' and '-' only");

/** Lists arrive as JSON arrays (REST) or comma/space separated text (forms). */
const list = (v: unknown) => (typeof v === "string" ? v.split(/[\s,;]+/).filter(Boolean) : v);

const ZWebhookUrl = z
  .string()
  .trim()
  .max(2048)
  .refine((u) => URL.canParse(u), "Enter an http:// or https:// URL")
  .refine((u) => !URL.canParse(u) || /^https?:$/.test(new URL(u).protocol), "Only http:// and https:// URLs")
  .refine((u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), "Put no credentials in the URL: requests are signed with the channel secret");

const ZEmail = z.string().trim().email("Enter an email address").max(320);

export const ZWebhookChannelInput = z.object({
  kind: z.literal("webhook"),
  name: ZName,
  url: ZWebhookUrl,
  /** The HMAC key; generated (and shown once) when not given. */
  secret: z.preprocess(blankToUndefined, z.string().min(16, "At least 16 characters").max(256).optional()),
});

export const ZEmailChannelInput = z.object({
  kind: z.literal("email"),
  name: ZName,
  host: z
    .string()
    .trim()
    .min(1, "Required")
    .max(253)
    .regex(/^[A-Za-z0-9.:[\]-]+$/, "A host name or IP address"),
  port: z.coerce.number({ error: "Enter a port" }).int().min(1).max(65535),
  security: z.enum(SMTP_SECURITY, { error: "Choose tls, starttls or none" }),
  username: z.preprocess(blankToUndefined, z.string().max(256).optional()),
  password: z.preprocess(blankToUndefined, z.string().max(1024).optional()),
  from: ZEmail,
  to: z.preprocess(list, z.array(ZEmail).min(1, "At least one recipient").max(20)),
});

export const ZNotificationChannelInput = z.discriminatedUnion("kind", [ZWebhookChannelInput, ZEmailChannelInput], { error: "Choose webhook or email" });
export type TNotificationChannelInput = z.infer<typeof ZNotificationChannelInput>;

export const ZNotificationRuleInput = z
  .object({
    name: ZName,
    kind: z.enum(RULE_KINDS, { error: `One of ${RULE_KINDS.join(", ")}` }),
    channelId: ZId,
    /** Days before expiry (certificate-expiry, signer-expiry); each fires once per certificate. */
    thresholds: z.preprocess(
      (v) => (v === undefined || v === "" ? undefined : (list(v) as unknown[] | unknown)),
      z
        .array(z.coerce.number().int().min(1, "At least 1 day").max(3650))
        .min(1)
        .max(6)
        .transform((t) => [...new Set(t)].sort((a, b) => b - a))
        .default([30, 7, 1]),
    ),
    tag: z.preprocess(blankToUndefined, ZTag.optional()),
    caId: z.preprocess(blankToUndefined, ZId.optional()),
    digest: z.preprocess((v) => v ?? false, ZBoolish),
    spikeCount: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(100_000).optional()),
    windowMinutes: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(1440).optional()),
  })
  .transform((r) => (r.kind === "est-refusals" ? { ...r, spikeCount: r.spikeCount ?? 10, windowMinutes: r.windowMinutes ?? 15 } : { ...r, spikeCount: undefined, windowMinutes: undefined }));
export type TNotificationRuleInput = z.infer<typeof ZNotificationRuleInput>;

export const ZSetEnabled = z.object({ enabled: ZBoolish }).strict();

export const ZDeliveryQuery = z.object({
  outcome: z.enum(["success", "failure"]).optional(),
  channelId: ZId.optional(),
  limit: ZLimit,
});
export type TDeliveryQuery = z.infer<typeof ZDeliveryQuery>;
