// Notification channels, rules and the delivery log on the real server, with real receivers: an
// HTTP receiver that checks the HMAC signature (and answers 500 once, to see the retry) and an SMTP
// server (smtp-server + mailparser) that takes the alert mail with authentication. Each certificate
// threshold fires once: across a restart between evaluations, and with two instances on one
// database. Bad input (bad URL, unknown channel, non-admin) changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { simpleParser, type ParsedMail } from "mailparser";
import { createTestDatabase, testProviders, type TestDatabase } from "../helpers/databases";
import { freePort, launchServer, type TestServer } from "../helpers/server";
import { api, Browser } from "../helpers/http";
import { db, disconnectDb } from "@/lib/db";
import { resetConfigForTests } from "@/lib/config";
import { resetSecretsForTests } from "@/lib/secrets";
import { SYSTEM_ACTOR } from "@/lib/auth/roles";
import { createApiToken } from "@/lib/services/tokens";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, check: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  event: { id: string; type: string; rule: { id: string } | null; items: Record<string, unknown>[]; summary: string };
  answered: number;
}

/** A webhook receiver: answers 500 to the next `failNext` requests, 204 otherwise. */
async function startReceiver() {
  const received: Received[] = [];
  const state = { failNext: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const answered = state.failNext > 0 ? 500 : 204;
      if (state.failNext > 0) state.failNext--;
      received.push({ headers: req.headers, body, event: JSON.parse(body), answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/certfleet`, received, state, close: () => new Promise((r) => server.close(r)) };
}

/** What a receiver does with X-CertFleet-Signature: HMAC-SHA256 over "<t>.<raw body>", fresh t. */
function verifySignature(secret: string, header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (!m || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2], "hex"));
}

async function startSmtp() {
  const mails: { mail: ParsedMail; user: string | undefined }[] = [];
  const port = await freePort();
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === "alerts" && auth.password === "smtp-password-1") callback(null, { user: auth.username });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push({ mail, user: session.user as string | undefined });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function evaluations(server: TestServer, token: string): Promise<number> {
  const res = await api(server.url, token, "GET", "/metrics");
  const m = /^certfleet_alert_evaluations_total (\S+)$/m.exec(String(res.data));
  return m ? Number(m[1]) : 0;
}

/** Waits until `server` has run `n` more evaluations than now (so any alert due was sent). */
async function moreEvaluations(server: TestServer, token: string, n: number) {
  const start = await evaluations(server, token);
  await waitFor(`${n} more alert evaluations`, async () => (await evaluations(server, token)) >= start + n, 60_000, 300);
}

describe.each(testProviders())("notifications on %s", (provider) => {
  let database: TestDatabase;
  let server: TestServer;
  let second: TestServer | null = null;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const tokens: Record<string, string> = {};
  // One evaluation a second; 5-day certificates are within the 7-day threshold (and 30) but not 1.
  const env = { CERTFLEET_ALERT_INTERVAL_SECONDS: "1", CERTFLEET_DEVICE_CERT_DAYS: "5" };
  let webhookId = "";
  let webhookSecret = "";
  let emailId = "";
  const certificates: string[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    smtp = await startSmtp();
    database = await createTestDatabase(provider);
    server = await launchServer(database, env);
    await disconnectDb();
    process.env.DATABASE_URL = database.url;
    process.env.CERTFLEET_DATA_DIR = database.dataDir;
    resetConfigForTests();
    resetSecretsForTests();
    for (const role of ["admin", "operator"] as const) tokens[role] = (await createApiToken(SYSTEM_ACTOR, { name: `n-${role}`, role })).token;
  }, 240_000);

  afterAll(async () => {
    await second?.kill();
    await disconnectDb();
    await server?.stop();
    await receiver?.close();
    await smtp?.close();
  });

  const channelCount = () => db().notificationChannel.count();
  const ruleCount = () => db().notificationRule.count();

  it("refuses bad channels and rules with a clear error, and non-admins, storing nothing", async () => {
    const bad: [unknown, string][] = [
      [{ kind: "webhook", name: "ftp", url: "ftp://example.net/hook" }, "body.url"],
      [{ kind: "webhook", name: "nourl", url: "not a url" }, "body.url"],
      [{ kind: "webhook", name: "creds", url: "https://user:pw@example.net/hook" }, "body.url"],
      [{ kind: "email", name: "mail", host: "127.0.0.1", port: 25, security: "none", from: "a@example.net", to: [] }, "body.to"],
      [{ kind: "sms", name: "sms" }, "body.kind"],
    ];
    for (const [body, path] of bad) {
      const res = await api(server.url, tokens.admin, "POST", "/api/v1/notification-channels", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.type).toContain("application/problem+json");
      expect(res.data.code).toBe("VALIDATION");
      expect(res.data.errors.map((e: { path: string }) => e.path).join(" ")).toContain(path);
    }
    const operator = await api(server.url, tokens.operator, "POST", "/api/v1/notification-channels", { kind: "webhook", name: "op", url: receiver.url });
    expect(operator.status).toBe(403);
    expect(operator.data.detail).toContain("notifications:manage");
    expect((await api(server.url, tokens.operator, "GET", "/api/v1/notification-deliveries")).status).toBe(403);
    expect((await api(server.url, null, "GET", "/api/v1/notification-rules")).status).toBe(401);

    const unknown = await api(server.url, tokens.admin, "POST", "/api/v1/notification-rules", { name: "orphan", kind: "certificate-expiry", channelId: "nc0000000000000000000000" });
    expect(unknown.status).toBe(400);
    expect(unknown.data.detail).toBe("Unknown notification channel");
    const badKind = await api(server.url, tokens.admin, "POST", "/api/v1/notification-rules", { name: "odd", kind: "weather", channelId: "x" });
    expect(badKind.status).toBe(400);
    expect(await channelCount()).toBe(0);
    expect(await ruleCount()).toBe(0);
  });

  it("a webhook channel shows its secret once, keeps it sealed, signs every attempt and retries after a 500", async () => {
    const created = await api(server.url, tokens.admin, "POST", "/api/v1/notification-channels", { kind: "webhook", name: "ops-hook", url: receiver.url });
    expect(created.status, JSON.stringify(created.data)).toBe(201);
    webhookId = created.data.id;
    webhookSecret = created.data.secret;
    expect(webhookSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.data.target).toBe(`${new URL(receiver.url).origin}/…`);

    const listed = await api(server.url, tokens.admin, "GET", "/api/v1/notification-channels");
    expect(listed.data.items).toHaveLength(1);
    expect(JSON.stringify(listed.data)).not.toContain(webhookSecret);
    expect(JSON.stringify(listed.data)).not.toContain("/hooks/certfleet");
    const row = await db().notificationChannel.findUniqueOrThrow({ where: { id: webhookId } });
    expect(row.sealedSecret).not.toBe("");
    expect(row.sealedSecret).not.toContain(webhookSecret);

    receiver.state.failNext = 1;
    const before = receiver.received.length;
    const test = await api(server.url, tokens.admin, "POST", `/api/v1/notification-channels/${webhookId}/test`);
    expect(test.status).toBe(200);
    expect(test.data).toMatchObject({ ok: true, attempts: 2, statusCode: 204 });
    const got = receiver.received.slice(before);
    expect(got.map((r) => r.answered)).toEqual([500, 204]);
    for (const r of got) {
      expect(verifySignature(webhookSecret, r.headers["x-certfleet-signature"] as string, r.body)).toBe(true);
      expect(verifySignature("whsec_wrong-secret-wrong-secret", r.headers["x-certfleet-signature"] as string, r.body)).toBe(false);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.headers["x-certfleet-event"]).toBe("test");
      expect(r.event.type).toBe("test");
    }
    // The same delivery id on the retry: receivers can deduplicate.
    expect(got[0].event.id).toBe(got[1].event.id);

    const log = await api(server.url, tokens.admin, "GET", `/api/v1/notification-deliveries?channelId=${webhookId}`);
    expect(log.status).toBe(200);
    const attempts = log.data.items.map((d: { attempt: number; outcome: string; statusCode: number; type: string }) => [d.attempt, d.outcome, d.statusCode, d.type]);
    expect(attempts).toEqual([
      [2, "success", 204, "test"],
      [1, "failure", 500, "test"],
    ]);
    expect(server.logs()).not.toContain(webhookSecret);
  });

  it("an email channel sends the test mail through SMTP with the sealed password", async () => {
    const created = await api(server.url, tokens.admin, "POST", "/api/v1/notification-channels", {
      kind: "email",
      name: "ops-mail",
      host: "127.0.0.1",
      port: smtp.port,
      security: "none",
      username: "alerts",
      password: "smtp-password-1",
      from: "certfleet@test.local",
      to: ["ops@test.local", "pki@test.local"],
    });
    expect(created.status, JSON.stringify(created.data)).toBe(201);
    emailId = created.data.id;
    expect(JSON.stringify(created.data)).not.toContain("smtp-password-1");
    expect(created.data.hasSecret).toBe(true);
    const test = await api(server.url, tokens.admin, "POST", `/api/v1/notification-channels/${emailId}/test`);
    expect(test.data).toMatchObject({ ok: true, attempts: 1 });
    expect(smtp.mails).toHaveLength(1);
    const { mail, user } = smtp.mails[0];
    expect(user).toBe("alerts");
    expect(mail.subject).toBe('[CertFleet] Test notification for channel "ops-mail"');
    expect(mail.text).toContain("requestedBy: n-admin");
    expect(mail.headers.get("x-certfleet-event")).toBe("test");
    const to = Array.isArray(mail.to) ? mail.to : [mail.to];
    expect(to.flatMap((a) => a!.value.map((v) => v.address))).toEqual(["ops@test.local", "pki@test.local"]);
    expect(server.logs()).not.toContain("smtp-password-1");
  });

  it("alerts each certificate threshold once and mails revocations; a restart between evaluations sends nothing again", async () => {
    const expiry = await api(server.url, tokens.admin, "POST", "/api/v1/notification-rules", { name: "expiry", kind: "certificate-expiry", channelId: webhookId });
    expect(expiry.status, JSON.stringify(expiry.data)).toBe(201);
    expect(expiry.data.thresholds).toEqual([30, 7, 1]);
    const revocation = await api(server.url, tokens.admin, "POST", "/api/v1/notification-rules", { name: "revocations", kind: "revocation", channelId: emailId });
    expect(revocation.status).toBe(201);

    for (const name of ["alert-dev-1", "alert-dev-2"]) {
      const device = await api(server.url, tokens.operator, "POST", "/api/v1/devices", { name });
      const cert = await api(server.url, tokens.operator, "POST", `/api/v1/devices/${device.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
      expect(cert.status).toBe(201);
      certificates.push(cert.data.certificate.id);
    }
    const expiring = () => receiver.received.filter((r) => r.event.type === "certificate.expiring" && r.event.rule?.id === expiry.data.id);
    await waitFor("two expiry alerts", () => expiring().length >= 2);
    const revoked = await api(server.url, tokens.operator, "POST", `/api/v1/certificates/${certificates[1]}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    const revocationMails = () => smtp.mails.filter((m) => m.mail.headers.get("x-certfleet-event") === "certificate.revoked");
    await waitFor("the revocation mail", () => revocationMails().length >= 1);
    expect(revocationMails()[0].mail.subject).toContain("revoked (keyCompromise)");

    await moreEvaluations(server, tokens.admin, 3);
    const firstRound = expiring();
    expect(firstRound).toHaveLength(2);
    expect(new Set(firstRound.map((r) => r.event.items[0].certificateId))).toEqual(new Set(certificates));
    for (const r of firstRound) {
      expect(r.event.items[0].thresholdDays).toBe(7);
      expect(verifySignature(webhookSecret, r.headers["x-certfleet-signature"] as string, r.body)).toBe(true);
    }

    // The restarted server migrates the database first: this process lets go of the file meanwhile.
    await disconnectDb();
    await server.kill();
    server = await launchServer(database, env);
    await moreEvaluations(server, tokens.admin, 3);
    expect(expiring()).toHaveLength(2);
    expect(revocationMails()).toHaveLength(1);
    expect(await db().notificationAlert.count({ where: { ruleId: expiry.data.id } })).toBe(2);
    expect(await db().notificationAlert.count({ where: { ruleId: expiry.data.id, status: "sent" } })).toBe(2);
  }, 180_000);

  it("sends an alert whose sender died between claiming and delivering it, once; prunes the delivery log after 90 days", async () => {
    const rule = await db().notificationRule.findUniqueOrThrow({ where: { name: "expiry" } });
    const id = "na-orphan-0000000000000000";
    const event = { id, type: "certificate.expiring", occurredAt: new Date().toISOString(), summary: "left behind", rule: { id: rule.id, name: rule.name, kind: rule.kind }, items: [], total: 0, source: server.url };
    // As a server killed mid-delivery leaves it: claimed (pending) 11 minutes ago, never sent.
    await db().notificationAlert.create({ data: { id, ruleId: rule.id, key: "expiry:orphan:7d", type: event.type, summary: event.summary, event: JSON.stringify(event), createdAt: new Date(Date.now() - 11 * 60_000) } });
    // And a delivery-log entry past the 90 days the log keeps.
    const old = await db().notificationDelivery.create({ data: { channelId: webhookId, type: "test", attempt: 1, outcome: "success", durationMs: 1, createdAt: new Date(Date.now() - 91 * 86_400_000) } });
    const orphan = () => receiver.received.filter((r) => r.event.id === id);
    await waitFor("the orphaned alert", () => orphan().length >= 1);
    await moreEvaluations(server, tokens.admin, 2);
    expect(orphan()).toHaveLength(1);
    expect(orphan()[0].event.summary).toBe("left behind");
    expect(verifySignature(webhookSecret, orphan()[0].headers["x-certfleet-signature"] as string, orphan()[0].body)).toBe(true);
    expect((await db().notificationAlert.findUniqueOrThrow({ where: { id } })).status).toBe("sent");
    expect(await db().notificationDelivery.findUnique({ where: { id: old.id } })).toBeNull();
  }, 120_000);

  // Two servers on one SQLite file cannot both start (the second's migration waits on the first's
  // writes); several instances is a PostgreSQL setup.
  if (provider === "postgresql") {
    it("two instances on one PostgreSQL database send each alert once", async () => {
      second = await launchServer(database, env);
      // A new rule both instances see from their next evaluation on: threshold 30 days.
      const rule = await api(server.url, tokens.admin, "POST", "/api/v1/notification-rules", { name: "expiry-30", kind: "certificate-expiry", channelId: webhookId, thresholds: [30] });
      expect(rule.status).toBe(201);
      const forRule = () => receiver.received.filter((r) => r.event.rule?.id === rule.data.id);
      // Only the certificate still active (the other was revoked): one alert.
      await waitFor("the 30-day alert", () => forRule().length >= 1);
      await Promise.all([moreEvaluations(server, tokens.admin, 3), moreEvaluations(second, tokens.admin, 3)]);
      expect(forRule()).toHaveLength(1);
      expect(forRule()[0].event.items[0]).toMatchObject({ certificateId: certificates[0], thresholdDays: 30 });
    }, 180_000);
  }

  it("retries an unreachable webhook and shows the failure on the overview and in Settings", async () => {
    const closed = await freePort();
    const created = await api(server.url, tokens.admin, "POST", "/api/v1/notification-channels", { kind: "webhook", name: "gone-hook", url: `http://127.0.0.1:${closed}/hook` });
    expect(created.status).toBe(201);
    const test = await api(server.url, tokens.admin, "POST", `/api/v1/notification-channels/${created.data.id}/test`);
    expect(test.status).toBe(200);
    expect(test.data.ok).toBe(false);
    expect(test.data.attempts).toBe(3);
    expect(test.data.error).toContain("ECONNREFUSED");
    const log = await api(server.url, tokens.admin, "GET", `/api/v1/notification-deliveries?channelId=${created.data.id}&outcome=failure`);
    expect(log.data.items.map((d: { attempt: number }) => d.attempt)).toEqual([3, 2, 1]);

    const browser = new Browser(server.url);
    expect(await browser.signIn("admin@test.local", "admin-password-1")).toBeNull();
    const overview = await (await browser.fetch("/")).text();
    expect(overview).toContain('data-testid="failed-deliveries"');
    const failures = await api(server.url, tokens.admin, "GET", "/api/v1/notification-deliveries?outcome=failure&limit=500");
    // The 500 of the retry test before, and these three.
    expect(failures.data.items).toHaveLength(4);
    expect(overview).toMatch(/4 failed notification deliveries in the last 24 hours/);
    expect(overview).toContain("gone-hook");
    const settings = await (await browser.fetch("/settings")).text();
    for (const text of ["Notification channels", "Alert rules", "Delivery log", "ops-hook", "ops-mail", "gone-hook", "expiry"]) expect(settings).toContain(text);
    expect(settings).not.toContain(webhookSecret);
    expect(settings).not.toContain("smtp-password-1");

    const doc = (await api(server.url, null, "GET", "/api/v1/openapi.json")).data;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/v1/notification-channels", "/api/v1/notification-channels/{id}/test", "/api/v1/notification-rules", "/api/v1/notification-deliveries"]));
    expect(doc.webhooks.notification.post.requestBody.content["application/json"].schema.$ref).toBe("#/components/schemas/NotificationEvent");
    expect(doc.components.schemas.NotificationEvent.properties.type.enum).toContain("certificate.expiring");
  }, 120_000);

  it("a digest rule sends one message a day, not one per certificate", async () => {
    const rule = await api(server.url, tokens.admin, "POST", "/api/v1/notification-rules", { name: "digest", kind: "certificate-expiry", channelId: webhookId, digest: true });
    expect(rule.status).toBe(201);
    const forRule = () => receiver.received.filter((r) => r.event.rule?.id === rule.data.id);
    await waitFor("the digest", () => forRule().length >= 1);
    await moreEvaluations(server, tokens.admin, 2);
    expect(forRule()).toHaveLength(1);
    expect(forRule()[0].event).toMatchObject({ type: "digest", total: 1 });
  }, 120_000);
});
