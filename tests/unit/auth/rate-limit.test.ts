// Login throttling with a hand-driven clock: backoff doubling and its cap, forgetting, the
// per-address limit across emails, attempts in flight, and how addresses are keyed.
import { describe, expect, it } from "vitest";
import { addressKey, createBackoff, createLoginThrottle } from "@/lib/auth/rate-limit";
import { clientAddress } from "@/lib/auth/client-ip";

const policy = { free: 3, baseMs: 1_000, maxMs: 4_000, forgetMs: 60_000 };

function failOnce(b: ReturnType<typeof createBackoff>, key: string, now: number) {
  b.begin(key, now);
  b.end(key, true, now);
}

describe("backoff", () => {
  it("locks after the free failures, doubles each further failure up to the cap, and forgets", () => {
    const b = createBackoff(policy);
    failOnce(b, "k", 0);
    failOnce(b, "k", 0);
    expect(b.retryAfter("k", 0)).toBe(0);
    failOnce(b, "k", 0);
    expect(b.retryAfter("k", 0)).toBe(1_000);
    expect(b.retryAfter("other", 0)).toBe(0);
    failOnce(b, "k", 1_000);
    expect(b.retryAfter("k", 1_000)).toBe(2_000);
    failOnce(b, "k", 3_000);
    expect(b.retryAfter("k", 3_000)).toBe(4_000);
    failOnce(b, "k", 7_000);
    expect(b.retryAfter("k", 7_000)).toBe(4_000);
    expect(b.retryAfter("k", 11_000)).toBe(0);
    // An hour of quiet later the key starts from zero: three free failures again.
    failOnce(b, "k", 7_000 + 60_000);
    expect(b.retryAfter("k", 7_000 + 60_000)).toBe(0);
  });

  it("counts attempts in flight, so parallel attempts cannot all pass one check", () => {
    const b = createBackoff(policy);
    failOnce(b, "k", 0);
    b.begin("k", 0);
    b.begin("k", 0);
    expect(b.retryAfter("k", 0)).toBeGreaterThan(0);
    b.end("k", false, 0);
    expect(b.retryAfter("k", 0)).toBe(0);
  });
});

describe("login throttle", () => {
  const throttle = () => createLoginThrottle({ free: 3, baseMs: 1_000, maxMs: 4_000, forgetMs: 60_000 }, { free: 5, baseMs: 1_000, maxMs: 4_000, forgetMs: 60_000 });
  const wrong = (t: ReturnType<typeof throttle>, email: string, ip: string) => {
    t.begin(email, ip, 0);
    t.fail(email, ip, 0);
  };

  it("throttles an attacker's address for one email but not the owner's address", () => {
    const t = throttle();
    for (let i = 0; i < 3; i++) wrong(t, "victim@x", "203.0.113.9");
    expect(t.retryAfter("victim@x", "203.0.113.9", 0)).toBeGreaterThan(0);
    expect(t.retryAfter("victim@x", "198.51.100.1", 0)).toBe(0);
  });

  it("stops one address spraying many emails, and a success there does not clear that count", () => {
    const t = throttle();
    for (let i = 0; i < 4; i++) wrong(t, `user${i}@x`, "203.0.113.9");
    t.begin("mine@x", "203.0.113.9", 0);
    t.succeed("mine@x", "203.0.113.9");
    wrong(t, "user9@x", "203.0.113.9");
    expect(t.retryAfter("fresh@x", "203.0.113.9", 0)).toBeGreaterThan(0);
    expect(t.retryAfter("fresh@x", "198.51.100.1", 0)).toBe(0);
  });

  it("resets the (email, address) count on success", () => {
    const t = throttle();
    for (let i = 0; i < 2; i++) wrong(t, "a@x", "192.0.2.1");
    t.begin("a@x", "192.0.2.1", 0);
    t.succeed("a@x", "192.0.2.1");
    for (let i = 0; i < 2; i++) wrong(t, "a@x", "192.0.2.1");
    expect(t.retryAfter("a@x", "192.0.2.1", 0)).toBe(0);
  });
});

describe("client addresses", () => {
  it("keys IPv6 by its /64 and mapped IPv4 as IPv4", () => {
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0db8:0001:0002:ffff:1:2:3")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::5")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(addressKey("192.0.2.7")).toBe("192.0.2.7");
  });

  it("takes the entry the trusted proxies wrote, never the client's left-most one", () => {
    expect(clientAddress("1.1.1.1, 203.0.113.5", "10.0.0.2", 1)).toBe("203.0.113.5");
    expect(clientAddress(["1.1.1.1", "203.0.113.5, 10.0.0.9"], "10.0.0.2", 2)).toBe("203.0.113.5");
    expect(clientAddress("203.0.113.5", "10.0.0.2", 2)).toBe("10.0.0.2");
    expect(clientAddress("1.1.1.1", "10.0.0.2", 0)).toBe("10.0.0.2");
    expect(clientAddress(undefined, "10.0.0.2", 1)).toBe("10.0.0.2");
  });
});
