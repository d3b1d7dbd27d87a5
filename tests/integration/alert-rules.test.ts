// The alert rules that the server test does not reach in real time, evaluated at chosen moments on
// a real SQLite database and delivered to a real HTTP receiver: a current certificate that expired,
// the CA / OCSP responder / CRL close to their ends, an EST refusal spike (through the real EST
// service), tag filters; each fires once however often it is evaluated.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";

vi.mock("server-only", () => ({}));

import { startInstance, type TestInstance } from "../helpers/instance";
import { db } from "@/lib/db";
import { SYSTEM_ACTOR } from "@/lib/auth/roles";
import { createDevice } from "@/lib/services/devices";
import { issueDeviceCertificate } from "@/lib/services/certificates";
import { estEnroll } from "@/lib/services/est";
import { createNotificationChannel, createNotificationRule } from "@/lib/services/notifications/manage";
import { evaluateAlerts } from "@/lib/services/notifications/alerts";
import { ensureAllResponders } from "@/lib/services/ocsp";
import { refreshCrl, stopCrlTimers } from "@/lib/services/crl";
import { ZIssueCertificate } from "@/lib/validation/certificates";
import { ZNotificationRuleInput } from "@/lib/validation/notifications";

const DAY = 86_400_000;

describe("alert rules at chosen moments", () => {
  let inst: TestInstance;
  let receiver: http.Server;
  const events: { type: string; rule: { name: string } | null; items: Record<string, unknown>[]; summary: string }[] = [];
  let channelId = "";
  const certs: { id: string; notAfter: Date; device: string }[] = [];

  const rule = (input: Record<string, unknown>) => createNotificationRule(SYSTEM_ACTOR, ZNotificationRuleInput.parse({ channelId, ...input }));
  const of = (name: string) => events.filter((e) => e.rule?.name === name);

  beforeAll(async () => {
    inst = await startInstance("sqlite");
    receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        events.push(JSON.parse(body));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    channelId = (await createNotificationChannel(SYSTEM_ACTOR, { kind: "webhook", name: "hook", url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/` })).id;
    for (const [name, tags, days] of [["tagged-1", ["line-a"], 10], ["plain-1", [], 10]] as const) {
      const device = await createDevice(SYSTEM_ACTOR, { name, tags: [...tags] });
      const issued = await issueDeviceCertificate(SYSTEM_ACTOR, device.id, ZIssueCertificate.parse({ generateKey: { algorithm: "EC-P256" }, validityDays: days }));
      certs.push({ id: issued.certificate.id, notAfter: new Date(issued.certificate.notAfter), device: name });
    }
  }, 120_000);

  afterAll(async () => {
    stopCrlTimers();
    await new Promise((r) => receiver.close(r));
    await inst.close();
  });

  it("certificate-expired: a device's current certificate past its notAfter, once; the tag filter holds", async () => {
    await rule({ name: "expired-a", kind: "certificate-expired", tag: "line-a" });
    const later = new Date(certs[0].notAfter.getTime() + DAY);
    await evaluateAlerts(later);
    await evaluateAlerts(new Date(later.getTime() + 60_000));
    expect(of("expired-a")).toHaveLength(1);
    expect(of("expired-a")[0]).toMatchObject({ type: "certificate.expired" });
    expect(of("expired-a")[0].items[0]).toMatchObject({ deviceName: "tagged-1", certificateId: certs[0].id });
  });

  it("certificate-expiry with a CA filter: 10-day certificates fire the 30-day threshold, later the 7- and 1-day ones", async () => {
    const ca = await db().certificateAuthority.findFirstOrThrow({ where: { kind: "issuing" } });
    await rule({ name: "expiry-ca", kind: "certificate-expiry", caId: ca.id });
    await evaluateAlerts(new Date());
    expect(of("expiry-ca").map((e) => e.items[0].thresholdDays)).toEqual([30, 30]);
    await evaluateAlerts(new Date(certs[0].notAfter.getTime() - 3 * DAY));
    await evaluateAlerts(new Date(certs[0].notAfter.getTime() - 12 * 3_600_000));
    await evaluateAlerts(new Date(certs[0].notAfter.getTime() - 11 * 3_600_000));
    expect(of("expiry-ca").map((e) => e.items[0].thresholdDays).sort()).toEqual([1, 1, 30, 30, 7, 7]);
  });

  it("signer-expiry: the CA certificate by threshold, an OCSP responder not renewed, a CRL not re-signed", async () => {
    await rule({ name: "signers", kind: "signer-expiry", thresholds: [30] });
    const issuing = await db().certificateAuthority.findFirstOrThrow({ where: { kind: "issuing" } });
    // What the server does at start: a responder for each issuing CA, and a signed CRL.
    await ensureAllResponders();
    await refreshCrl(issuing.id);
    const responder = await db().ocspResponder.findFirstOrThrow({ where: { caId: issuing.id, status: "active" } });
    const crl = await db().crl.findFirstOrThrow({ where: { caId: issuing.id }, orderBy: { number: "desc" } });

    await evaluateAlerts(new Date());
    expect(of("signers")).toHaveLength(0);
    // Three quarters into the CRL's validity: re-signing (at half) has failed.
    await evaluateAlerts(new Date(crl.thisUpdate.getTime() + (crl.nextUpdate.getTime() - crl.thisUpdate.getTime()) * 0.8));
    expect(of("signers").map((e) => e.type)).toEqual(["crl.stale"]);
    await evaluateAlerts(new Date(responder.notAfter.getTime() - 3 * DAY));
    expect(of("signers").map((e) => e.type)).toContain("ocsp-responder.expiring");
    await evaluateAlerts(new Date(issuing.notAfter.getTime() - 20 * DAY));
    await evaluateAlerts(new Date(issuing.notAfter.getTime() - 19 * DAY));
    const ca = of("signers").filter((e) => e.type === "ca.expiring");
    expect(ca.map((e) => e.items[0].ca)).toContain("issuing-1");
    expect(ca.filter((e) => e.items[0].ca === "issuing-1")).toHaveLength(1);
  });

  it("est-refusals: refused enrollments through the EST service past the spike count fire once per window", async () => {
    await rule({ name: "est-spike", kind: "est-refusals", spikeCount: 3, windowMinutes: 15 });
    for (let i = 0; i < 3; i++) {
      await expect(estEnroll(undefined, { basic: { username: `nobody-${i}`, password: "wrong-secret" }, address: "192.0.2.7" }, Buffer.from(""))).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    }
    // Twice at one moment: the window is the alert's key (one alert per window while it lasts).
    const at = new Date();
    await evaluateAlerts(at);
    await evaluateAlerts(at);
    expect(of("est-spike")).toHaveLength(1);
    expect(of("est-spike")[0]).toMatchObject({ type: "est.refusals", summary: "3 EST enrollments refused in the last 15 minutes" });
    expect(of("est-spike")[0].items[0]).toMatchObject({ address: "192.0.2.7", route: "simpleenroll" });
  });
});
