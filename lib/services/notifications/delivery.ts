// Sends one notification over one channel, with retries, and logs every attempt
// (NotificationDelivery). Webhook: JSON POST signed with HMAC-SHA256 over `${timestamp}.${body}`
// (X-CertFleet-Signature: t=<unix seconds>,v1=<hex>; receivers reject stale timestamps), no
// redirects followed, a timeout per attempt. Email: SMTP through nodemailer. Secrets are opened
// here, used, and never logged: errors name the host and the status, not the request.
import { createHmac } from "node:crypto";
import nodemailer from "nodemailer";
import { db } from "../../db";
import { config } from "../../config";
import { getMasterKey } from "../../secrets";
import { openSecret } from "../../pki/keystore";
import { processMetrics } from "../metrics";

/** The JSON every webhook receives (documented in OpenAPI as NotificationEvent, and in README). */
export interface NotificationEvent {
  /** The alert's id (the test send: "test-…"). Receivers can deduplicate on it. */
  id: string;
  type: NotificationType;
  occurredAt: string;
  summary: string;
  rule: { id: string; name: string; kind: string } | null;
  /** What the alert is about; items of certificate alerts carry the fields of NotificationItem. */
  items: NotificationItem[];
  /** items may be cut to 500 in a digest; total says how many matched. */
  total: number;
  /** CERTFLEET_PUBLIC_URL of the sending instance. */
  source: string;
}

export type NotificationType =
  | "certificate.expiring"
  | "certificate.expired"
  | "ca.expiring"
  | "ocsp-responder.expiring"
  | "crl.stale"
  | "certificate.revoked"
  | "est.refusals"
  | "digest"
  | "test";

export type NotificationItem = Record<string, string | number | boolean | null>;

export const SIGNATURE_HEADER = "x-certfleet-signature";
export const MAX_ATTEMPTS = 3;
const WEBHOOK_TIMEOUT_MS = 10_000;
/** Waits before attempt 2 and 3. */
const BACKOFF_MS = [1_000, 4_000];

export interface ChannelRecord {
  id: string;
  kind: string;
  config: string;
  sealedSecret: string;
}

export const channelSealContext = (channelId: string) => `notification-channel:${channelId}`;

function channelSecret(channel: ChannelRecord): string | null {
  if (!channel.sealedSecret) return null;
  return Buffer.from(openSecret(getMasterKey(), channel.sealedSecret, channelSealContext(channel.id))).toString("utf8");
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` */
export function webhookSignature(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

interface AttemptResult {
  ok: boolean;
  statusCode?: number;
  error?: string;
  /** Worth another attempt (network error, timeout, 5xx, 429; SMTP 4xx). */
  retry: boolean;
}

async function postWebhook(url: string, secret: string | null, event: NotificationEvent): Promise<AttemptResult> {
  const body = JSON.stringify(event);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "CertFleet-Notifications/1",
    "x-certfleet-event": event.type,
    "x-certfleet-delivery": event.id,
  };
  // Signed per attempt: the timestamp is the attempt's, so a retry is not refused as a replay.
  if (secret) headers[SIGNATURE_HEADER] = webhookSignature(secret, body);
  try {
    const res = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS) });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status, retry: false };
    if (res.status >= 300 && res.status < 400) return { ok: false, statusCode: res.status, error: `Redirect to ${res.headers.get("location") ? "another location" : "nowhere"} not followed`, retry: false };
    return { ok: false, statusCode: res.status, error: `HTTP ${res.status}`, retry: res.status >= 500 || res.status === 429 };
  } catch (e) {
    const err = e as { name?: string; cause?: { code?: string; message?: string } };
    const why = err.name === "TimeoutError" ? `No answer within ${WEBHOOK_TIMEOUT_MS / 1000} s` : (err.cause?.code ?? err.cause?.message ?? "Network error");
    return { ok: false, error: `${why} (${new URL(url).host})`, retry: true };
  }
}

interface EmailConfig {
  host: string;
  port: number;
  security: "tls" | "starttls" | "none";
  username?: string;
  from: string;
  to: string[];
}

export function emailText(event: NotificationEvent): string {
  const lines = [event.summary, ""];
  for (const item of event.items.slice(0, 200)) lines.push(`- ${Object.entries(item).filter(([, v]) => v !== null && v !== "").map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  if (event.total > Math.min(event.items.length, 200)) lines.push(`… and ${event.total - Math.min(event.items.length, 200)} more`);
  lines.push("", `Sent by CertFleet (${event.source}) · alert ${event.id} · ${event.occurredAt}`);
  return lines.join("\n");
}

async function sendEmail(cfg: EmailConfig, password: string | null, event: NotificationEvent): Promise<AttemptResult> {
  const transport = nodemailer.createTransport({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.security === "tls",
    requireTLS: cfg.security === "starttls",
    ignoreTLS: cfg.security === "none",
    auth: cfg.username ? { user: cfg.username, pass: password ?? "" } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    logger: false,
  });
  try {
    const info = await transport.sendMail({
      from: cfg.from,
      to: cfg.to,
      subject: `[CertFleet] ${event.summary}`.slice(0, 200),
      text: emailText(event),
      headers: { "X-CertFleet-Event": event.type, "X-CertFleet-Delivery": event.id },
    });
    const code = Number(/^(\d{3})/.exec(info.response ?? "")?.[1]) || 250;
    return { ok: true, statusCode: code, retry: false };
  } catch (e) {
    const err = e as { responseCode?: number; code?: string; message?: string };
    const code = err.responseCode;
    // SMTP 5xx is permanent (bad recipient, auth refused); 4xx and connection trouble are not.
    return { ok: false, statusCode: code, error: code ? `SMTP ${code} from ${cfg.host}` : `${err.code ?? "Connection failed"} (${cfg.host}:${cfg.port})`, retry: !code || code < 500 };
  } finally {
    transport.close();
  }
}

export interface DeliveryOutcome {
  ok: boolean;
  attempts: number;
  statusCode?: number;
  error?: string;
}

/**
 * Delivers `event` over `channel`: up to MAX_ATTEMPTS attempts with backoff, each written to the
 * delivery log. Never throws for a failed delivery; the outcome says what happened.
 */
export async function deliver(channel: ChannelRecord, event: NotificationEvent, alertId: string | null, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<DeliveryOutcome> {
  let last: AttemptResult = { ok: false, retry: false, error: "Not attempted" };
  let attempt = 0;
  let secret: string | null;
  try {
    secret = channelSecret(channel);
  } catch {
    last = { ok: false, retry: false, error: "The channel secret cannot be opened with this master key" };
    await logAttempt(channel, event, alertId, 1, last, 0);
    return { ok: false, attempts: 1, error: last.error };
  }
  while (attempt < MAX_ATTEMPTS) {
    attempt++;
    const started = performance.now();
    last = channel.kind === "webhook" ? await postWebhook((JSON.parse(channel.config) as { url: string }).url, secret, event) : await sendEmail(JSON.parse(channel.config) as EmailConfig, secret, event);
    await logAttempt(channel, event, alertId, attempt, last, Math.round(performance.now() - started));
    if (last.ok || !last.retry) break;
    if (attempt < MAX_ATTEMPTS) await sleep(BACKOFF_MS[attempt - 1] ?? BACKOFF_MS[BACKOFF_MS.length - 1]);
  }
  return { ok: last.ok, attempts: attempt, statusCode: last.statusCode, error: last.error };
}

async function logAttempt(channel: ChannelRecord, event: NotificationEvent, alertId: string | null, attempt: number, result: AttemptResult, durationMs: number) {
  processMetrics().deliveries.inc({ channel_kind: channel.kind, outcome: result.ok ? "success" : "failure" });
  try {
    await db().notificationDelivery.create({
      data: { channelId: channel.id, alertId, type: event.type, attempt, outcome: result.ok ? "success" : "failure", statusCode: result.statusCode ?? null, durationMs, error: result.error?.slice(0, 500) ?? null },
    });
  } catch (e) {
    // A channel deleted meanwhile: its log went with it.
    console.error("[certfleet] could not log a notification delivery:", e instanceof Error ? e.message : e);
  }
}

/** The envelope every event shares. */
export function notificationEvent(id: string, type: NotificationType, summary: string, rule: NotificationEvent["rule"], items: NotificationItem[], total = items.length): NotificationEvent {
  return { id, type, occurredAt: new Date().toISOString(), summary, rule, items, total, source: config().publicUrl };
}
