// Alert rules, evaluated by a scheduler inside the server (after start, then every
// CERTFLEET_ALERT_INTERVAL_SECONDS). Each rule finds what matches now, and every match has a key;
// an alert fires when its (rule, key) row is inserted — the unique constraint decides, so across
// restarts, several instances on one PostgreSQL and cluster workers each alert fires once.
//
// Keys: expiry:<certificateId>:<threshold>d (the smallest threshold the certificate is within, so
// a certificate found at 5 days left fires "7d" once, then "1d"), expired:<certificateId>,
// ca:<caId>:<threshold>d, ocsp:<responderId>, crl:<caId>:<crl number>, audit:<seq> (revocations),
// est-spike:<window start>, digest:<UTC date>.
import { randomBytes } from "node:crypto";
import { db } from "../../db";
import { config } from "../../config";
import { REVOCATION_REASON_NAMES } from "../../pki/revocation-reasons";
import type { TRuleKind } from "../../validation/notifications";
import { processMetrics } from "../metrics";
import { deliver, notificationEvent, type NotificationEvent, type NotificationItem, type NotificationType } from "./delivery";

const DAY_MS = 86_400_000;
/** Matches read per rule and window in one evaluation: the newest entrants first. */
const CANDIDATES = 1000;
/** Messages one rule sends in one evaluation (the rest follow next time; a digest is one message). */
const MAX_SENDS_PER_RULE = 100;
/** Items listed in one digest (total says how many matched). */
const DIGEST_ITEMS = 500;
/** An OCSP responder certificate is renewed 10 days before it expires: within 7 it was not. */
const RESPONDER_ALERT_DAYS = 7;
/** A CRL is re-signed at half its validity: with a quarter left, re-signing has failed. */
const CRL_ALERT_FRACTION = 0.25;
const REVOCATION_ACTIONS = ["certificate.revoke", "certificate.revoke-held", "device.decommission"];

interface Match {
  key: string;
  type: NotificationType;
  summary: string;
  items: NotificationItem[];
}

interface RuleRecord {
  id: string;
  name: string;
  kind: string;
  thresholds: string;
  tag: string | null;
  caId: string | null;
  digest: boolean;
  spikeCount: number | null;
  windowMinutes: number | null;
  createdAt: Date;
  channel: { id: string; kind: string; config: string; sealedSecret: string; enabled: boolean };
}

const days = (ms: number) => Math.round((ms / DAY_MS) * 10) / 10;
const iso = (d: Date) => d.toISOString();

async function caSlugs(): Promise<Map<string, string>> {
  const cas = await db().certificateAuthority.findMany({ select: { id: true, slug: true } });
  return new Map(cas.map((c) => [c.id, c.slug]));
}

type CertHit = { id: string; serialHex: string; notAfter: Date; caId: string; device: { id: string; name: string } | null };

function certificateFilter(rule: RuleRecord) {
  return { status: "active", deviceId: { not: null }, ...(rule.caId ? { caId: rule.caId } : {}), ...(rule.tag ? { device: { tags: { some: { tag: rule.tag } } } } : {}) };
}

function certItem(c: CertHit, slugs: Map<string, string>, now: Date, extra: NotificationItem = {}): NotificationItem {
  return { deviceId: c.device?.id ?? null, deviceName: c.device?.name ?? null, certificateId: c.id, serial: c.serialHex, ca: slugs.get(c.caId) ?? c.caId, notAfter: iso(c.notAfter), daysLeft: days(c.notAfter.getTime() - now.getTime()), ...extra };
}

const CERT_SELECT = { id: true, serialHex: true, notAfter: true, caId: true, device: { select: { id: true, name: true } } } as const;

async function certificateExpiry(rule: RuleRecord, now: Date): Promise<Match[]> {
  const thresholds = (JSON.parse(rule.thresholds) as number[]).slice().sort((a, b) => a - b);
  const slugs = await caSlugs();
  const out: Match[] = [];
  // Window i holds the certificates whose smallest threshold is thresholds[i].
  for (let i = 0; i < thresholds.length; i++) {
    const lower = new Date(now.getTime() + (i ? thresholds[i - 1] : 0) * DAY_MS);
    const upper = new Date(now.getTime() + thresholds[i] * DAY_MS);
    const hits = await db().certificate.findMany({
      where: { ...certificateFilter(rule), notAfter: { gt: lower, lte: upper } },
      orderBy: { notAfter: "desc" },
      take: CANDIDATES,
      select: CERT_SELECT,
    });
    for (const c of hits) {
      const t = thresholds[i];
      out.push({
        key: `expiry:${c.id}:${t}d`,
        type: "certificate.expiring",
        summary: `Certificate of ${c.device?.name ?? "a device"} expires within ${t} day${t === 1 ? "" : "s"} (${iso(c.notAfter)})`,
        items: [certItem(c, slugs, now, { thresholdDays: t })],
      });
    }
  }
  return out;
}

async function certificateExpired(rule: RuleRecord, now: Date): Promise<Match[]> {
  const slugs = await caSlugs();
  // Still the device's current certificate (active), the device still in service, and expired.
  const hits = await db().certificate.findMany({
    where: { ...certificateFilter(rule), notAfter: { lte: now, gt: new Date(now.getTime() - 90 * DAY_MS) }, device: { status: "active", ...(rule.tag ? { tags: { some: { tag: rule.tag } } } : {}) } },
    orderBy: { notAfter: "desc" },
    take: CANDIDATES,
    select: CERT_SELECT,
  });
  return hits.map((c) => ({ key: `expired:${c.id}`, type: "certificate.expired", summary: `Certificate of ${c.device?.name ?? "a device"} expired ${iso(c.notAfter)} and is still its current one`, items: [certItem(c, slugs, now)] }));
}

async function signerExpiry(rule: RuleRecord, now: Date): Promise<Match[]> {
  const thresholds = (JSON.parse(rule.thresholds) as number[]).slice().sort((a, b) => a - b);
  const out: Match[] = [];
  const cas = await db().certificateAuthority.findMany({ where: { status: "active", ...(rule.caId ? { id: rule.caId } : {}) }, select: { id: true, slug: true, kind: true, notAfter: true } });
  for (const ca of cas) {
    const left = ca.notAfter.getTime() - now.getTime();
    const t = thresholds.find((d) => left <= d * DAY_MS);
    if (t === undefined) continue;
    out.push({ key: `ca:${ca.id}:${t}d`, type: "ca.expiring", summary: `${ca.kind === "root" ? "Root" : "Issuing"} CA ${ca.slug} expires within ${t} day${t === 1 ? "" : "s"} (${iso(ca.notAfter)})`, items: [{ ca: ca.slug, kind: ca.kind, notAfter: iso(ca.notAfter), daysLeft: days(left), thresholdDays: t }] });
  }
  const slug = new Map(cas.map((c) => [c.id, c.slug]));
  const responders = await db().ocspResponder.findMany({ where: { status: "active", caId: { in: cas.map((c) => c.id) }, notAfter: { lte: new Date(now.getTime() + RESPONDER_ALERT_DAYS * DAY_MS) } }, select: { id: true, caId: true, serialHex: true, notAfter: true } });
  for (const r of responders) {
    out.push({ key: `ocsp:${r.id}`, type: "ocsp-responder.expiring", summary: `OCSP responder certificate of ${slug.get(r.caId)} expires ${iso(r.notAfter)} and was not renewed`, items: [{ ca: slug.get(r.caId) ?? r.caId, serial: r.serialHex, notAfter: iso(r.notAfter), daysLeft: days(r.notAfter.getTime() - now.getTime()) }] });
  }
  for (const ca of cas) {
    const crl = await db().crl.findFirst({ where: { caId: ca.id }, orderBy: { number: "desc" }, select: { number: true, thisUpdate: true, nextUpdate: true } });
    if (!crl) continue;
    const validity = crl.nextUpdate.getTime() - crl.thisUpdate.getTime();
    if (crl.nextUpdate.getTime() - now.getTime() > validity * CRL_ALERT_FRACTION) continue;
    out.push({ key: `crl:${ca.id}:${crl.number}`, type: "crl.stale", summary: `CRL ${crl.number} of ${ca.slug} reaches its nextUpdate ${iso(crl.nextUpdate)} and was not re-signed`, items: [{ ca: ca.slug, crlNumber: crl.number.toString(), thisUpdate: iso(crl.thisUpdate), nextUpdate: iso(crl.nextUpdate) }] });
  }
  return out;
}

async function revocations(rule: RuleRecord, now: Date): Promise<Match[]> {
  const since = new Date(Math.max(rule.createdAt.getTime(), now.getTime() - DAY_MS));
  const events = await db().auditEvent.findMany({ where: { action: { in: REVOCATION_ACTIONS }, at: { gte: since } }, orderBy: { seq: "desc" }, take: CANDIDATES });
  return events.map((e) => {
    const d = JSON.parse(e.details) as { certificateId?: string; serial?: string; reason?: number | string; name?: string; revokedCertificates?: number };
    const reason = typeof d.reason === "number" ? (REVOCATION_REASON_NAMES[d.reason] ?? String(d.reason)) : (d.reason ?? (e.action === "device.decommission" ? "cessationOfOperation" : null));
    const what = e.action === "device.decommission" ? `Device ${d.name ?? e.targetId} decommissioned (${d.revokedCertificates ?? 0} certificate(s) revoked)` : `Certificate ${d.serial ?? d.certificateId} revoked (${reason})`;
    return { key: `audit:${e.seq}`, type: "certificate.revoked" as const, summary: what, items: [{ action: e.action, by: e.actorLabel, at: iso(e.at), deviceId: e.targetType === "device" ? e.targetId : null, certificateId: d.certificateId ?? null, serial: d.serial ?? null, reason }] };
  });
}

async function estRefusals(rule: RuleRecord, now: Date): Promise<Match[]> {
  const windowMs = (rule.windowMinutes ?? 15) * 60_000;
  const since = new Date(now.getTime() - windowMs);
  const count = await db().auditEvent.count({ where: { action: "est.refuse", at: { gte: since } } });
  if (count < (rule.spikeCount ?? 10)) return [];
  const latest = await db().auditEvent.findMany({ where: { action: "est.refuse", at: { gte: since } }, orderBy: { seq: "desc" }, take: 10, select: { at: true, details: true } });
  const bucket = Math.floor(now.getTime() / windowMs) * windowMs;
  return [
    {
      key: `est-spike:${new Date(bucket).toISOString()}`,
      type: "est.refusals",
      summary: `${count} EST enrollments refused in the last ${rule.windowMinutes ?? 15} minutes`,
      items: latest.map((e) => {
        const d = JSON.parse(e.details) as { route?: string; reason?: string; address?: string; status?: number };
        return { at: iso(e.at), route: d.route ?? null, status: d.status ?? null, reason: d.reason ?? null, address: d.address ?? null };
      }),
    },
  ];
}

const FINDERS: Record<TRuleKind, (rule: RuleRecord, now: Date) => Promise<Match[]>> = {
  "certificate-expiry": certificateExpiry,
  "certificate-expired": certificateExpired,
  "signer-expiry": signerExpiry,
  revocation: revocations,
  "est-refusals": estRefusals,
};

/**
 * Inserts the alert row with the event it sends; null when another evaluation (here or in another
 * process) already has it. The insert that wins sends.
 */
async function claim(rule: RuleRecord, m: Match, total = m.items.length): Promise<NotificationEvent | null> {
  const id = `na${randomBytes(12).toString("hex")}`;
  const event = notificationEvent(id, m.type, m.summary, { id: rule.id, name: rule.name, kind: rule.kind }, m.items, total);
  try {
    await db().notificationAlert.create({ data: { id, ruleId: rule.id, key: m.key, type: m.type, summary: m.summary.slice(0, 500), event: JSON.stringify(event) } });
    return event;
  } catch (e) {
    if ((e as { code?: string }).code === "P2002") return null;
    throw e;
  }
}

async function alreadyFired(ruleId: string, keys: string[]): Promise<Set<string>> {
  const fired = new Set<string>();
  for (let i = 0; i < keys.length; i += 500) {
    const rows = await db().notificationAlert.findMany({ where: { ruleId, key: { in: keys.slice(i, i + 500) } }, select: { key: true } });
    for (const r of rows) fired.add(r.key);
  }
  return fired;
}

export interface EvaluationReport {
  rules: number;
  fired: number;
  sent: number;
  failed: number;
}

async function send(channel: RuleRecord["channel"], event: NotificationEvent, report: EvaluationReport) {
  const outcome = await deliver(channel, event, event.id);
  await db().notificationAlert.update({ where: { id: event.id }, data: { status: outcome.ok ? "sent" : "failed" } });
  if (outcome.ok) report.sent++;
  else report.failed++;
}

/** The delivery log keeps this long (alert rows stay: they are what makes each alert fire once). */
export const DELIVERY_LOG_DAYS = 90;

/** A sender that stopped (restart, crash) between claiming an alert and recording its delivery. */
const ORPHAN_AFTER_MS = 10 * 60_000;

/**
 * Alerts claimed more than ORPHAN_AFTER_MS ago and still pending: their sender died. One process
 * takes each over (pending → resending, a conditional update) and sends the stored event.
 */
async function resendOrphans(now: Date, report: EvaluationReport) {
  const orphans = await db().notificationAlert.findMany({
    where: { status: "pending", createdAt: { lt: new Date(now.getTime() - ORPHAN_AFTER_MS) }, event: { not: "" }, rule: { enabled: true, channel: { enabled: true } } },
    include: { rule: { include: { channel: true } } },
    take: MAX_SENDS_PER_RULE,
  });
  for (const alert of orphans) {
    const taken = await db().notificationAlert.updateMany({ where: { id: alert.id, status: "pending" }, data: { status: "resending" } });
    if (taken.count !== 1) continue;
    report.fired++;
    await send(alert.rule.channel, JSON.parse(alert.event) as NotificationEvent, report);
  }
}

async function evaluateRule(rule: RuleRecord, now: Date, report: EvaluationReport) {
  const matches = await FINDERS[rule.kind as TRuleKind](rule, now);
  if (!matches.length) return;
  if (rule.digest) {
    const m: Match = {
      key: `digest:${now.toISOString().slice(0, 10)}`,
      type: "digest",
      summary: `Daily digest of "${rule.name}": ${matches.length}${matches.length >= CANDIDATES ? "+" : ""} match${matches.length === 1 ? "" : "es"}`,
      items: matches.slice(0, DIGEST_ITEMS).map((x) => ({ event: x.type, ...x.items[0] })),
    };
    if ((await alreadyFired(rule.id, [m.key])).size) return;
    const event = await claim(rule, m, matches.length);
    if (!event) return;
    report.fired++;
    await send(rule.channel, event, report);
    return;
  }
  const fired = await alreadyFired(rule.id, matches.map((m) => m.key));
  let sends = 0;
  for (const m of matches) {
    if (fired.has(m.key) || sends >= MAX_SENDS_PER_RULE) continue;
    const event = await claim(rule, m);
    if (!event) continue;
    sends++;
    report.fired++;
    await send(rule.channel, event, report);
  }
}

/** One evaluation of every enabled rule whose channel is enabled. */
export async function evaluateAlerts(now = new Date()): Promise<EvaluationReport> {
  const rules = await db().notificationRule.findMany({ where: { enabled: true, channel: { enabled: true } }, include: { channel: true }, orderBy: { createdAt: "asc" } });
  const report: EvaluationReport = { rules: rules.length, fired: 0, sent: 0, failed: 0 };
  await resendOrphans(now, report).catch((e) => console.error("[certfleet] resending orphaned alerts failed:", e instanceof Error ? e.message : e));
  await db().notificationDelivery.deleteMany({ where: { createdAt: { lt: new Date(now.getTime() - DELIVERY_LOG_DAYS * DAY_MS) } } });
  for (const rule of rules) {
    try {
      await evaluateRule(rule, now, report);
    } catch (e) {
      console.error(`[certfleet] alert rule "${rule.name}" failed:`, e instanceof Error ? e.message : e);
    }
  }
  processMetrics().alertEvaluations.inc();
  return report;
}

/**
 * Runs evaluateAlerts shortly after start and then every CERTFLEET_ALERT_INTERVAL_SECONDS (never
 * two at once in this process). Timers are unref'd; the returned function stops the scheduler.
 */
export function startAlertScheduler(log: (line: string) => void = console.log): () => void {
  const intervalMs = config().alertIntervalSeconds * 1000;
  let running = false;
  let stopped = false;
  const tick = async () => {
    if (running || stopped) return;
    running = true;
    try {
      const r = await evaluateAlerts();
      if (r.fired) log(`[certfleet] alerts: ${r.fired} fired, ${r.sent} delivered, ${r.failed} failed`);
    } catch (e) {
      console.error("[certfleet] alert evaluation failed:", e instanceof Error ? e.message : e);
    } finally {
      running = false;
    }
  };
  const first = setTimeout(tick, Math.min(intervalMs, 5_000));
  const every = setInterval(tick, intervalMs);
  first.unref();
  every.unref();
  return () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(every);
  };
}
