// The notification schemas take the same input from a form (strings) and from JSON.
import { describe, expect, it } from "vitest";
import { ZNotificationChannelInput, ZNotificationRuleInput } from "@/lib/validation/notifications";

describe("ZNotificationRuleInput", () => {
  it("reads thresholds from form text or JSON, largest first, without repeats; defaults to 30/7/1", () => {
    expect(ZNotificationRuleInput.parse({ name: "r", kind: "certificate-expiry", channelId: "c1", thresholds: "7, 30,1 7" }).thresholds).toEqual([30, 7, 1]);
    expect(ZNotificationRuleInput.parse({ name: "r", kind: "certificate-expiry", channelId: "c1", thresholds: [1, 14] }).thresholds).toEqual([14, 1]);
    const defaults = ZNotificationRuleInput.parse({ name: "r", kind: "certificate-expiry", channelId: "c1", thresholds: "" });
    expect(defaults).toMatchObject({ thresholds: [30, 7, 1], digest: false, spikeCount: undefined });
  });

  it("a form checkbox turns the digest on; EST spikes get their defaults; bad thresholds are refused", () => {
    expect(ZNotificationRuleInput.parse({ name: "r", kind: "revocation", channelId: "c1", digest: "true" }).digest).toBe(true);
    expect(ZNotificationRuleInput.parse({ name: "r", kind: "est-refusals", channelId: "c1" })).toMatchObject({ spikeCount: 10, windowMinutes: 15 });
    expect(ZNotificationRuleInput.safeParse({ name: "r", kind: "certificate-expiry", channelId: "c1", thresholds: "0" }).success).toBe(false);
    expect(ZNotificationRuleInput.safeParse({ name: "r", kind: "certificate-expiry", channelId: "c1", thresholds: "a,b" }).success).toBe(false);
    expect(ZNotificationRuleInput.safeParse({ name: "r", kind: "weather", channelId: "c1" }).success).toBe(false);
  });
});

describe("ZNotificationChannelInput", () => {
  it("takes recipients as a list or comma-separated text", () => {
    const mail = ZNotificationChannelInput.parse({ kind: "email", name: "m", host: "smtp.example.net", port: "587", security: "starttls", from: "a@example.net", to: "ops@example.net, pki@example.net" });
    expect(mail).toMatchObject({ port: 587, to: ["ops@example.net", "pki@example.net"] });
    expect(mail.kind === "email" && mail.username).toBe(undefined);
  });

  it("refuses webhook URLs that are not http(s), carry credentials or are no URL at all", () => {
    for (const url of ["ftp://example.net/x", "https://u:p@example.net/x", "not a url", "javascript:alert(1)"]) {
      const r = ZNotificationChannelInput.safeParse({ kind: "webhook", name: "w", url });
      expect(r.success, url).toBe(false);
      expect(r.error?.issues[0].path).toEqual(["url"]);
    }
    expect(ZNotificationChannelInput.safeParse({ kind: "webhook", name: "w", url: "https://hooks.example.net/a?b=c" }).success).toBe(true);
  });
});
