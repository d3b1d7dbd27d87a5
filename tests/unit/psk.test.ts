// PSK core: secret generation, the one-key-two-encodings rule, identity versions, and the two
// broker files (checked by broker-sync's independent validator and by decoding them back).
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fixedClock } from "@/lib/pki/clock";
import {
  buildPskFile,
  describePskKey,
  generatePskSecret,
  isPskLive,
  isValidPskIdentity,
  mosquittoKeyHex,
  pskIdentityBase,
  pskIdentityForVersion,
  pskKeyBytes,
  pskTombstoneSecret,
  type ExportablePsk,
} from "@/lib/pki/psk";
import { validatePskFile } from "@/lib/broker/verify";
import { ZCreatePsk, ZPskFileQuery, ZPskIdentity } from "@/lib/validation/psk";

const NOW = new Date("2026-03-01T12:00:00Z");
const clock = fixedClock(NOW);
const masterKey = new Uint8Array(randomBytes(32));
const DAY = 86_400_000;

/** Parses a broker file back into identity → key bytes, as each broker does. */
function decode(body: string, format: "mosquitto" | "emqx"): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const line of body.split("\n").filter(Boolean)) {
    const i = line.indexOf(":");
    const secret = line.slice(i + 1);
    out.set(line.slice(0, i), format === "mosquitto" ? Buffer.from(secret, "hex") : Buffer.from(secret, "utf8"));
  }
  return out;
}

describe("PSK secrets", () => {
  it("are 64 lowercase hex characters from 32 random bytes, never repeating", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = generatePskSecret();
      expect(s).toMatch(/^[0-9a-f]{64}$/);
      seen.add(s);
    }
    expect(seen.size).toBe(200);
    expect(generatePskSecret(() => new Uint8Array(32).fill(0xab))).toBe("ab".repeat(32));
    expect(() => generatePskSecret(() => new Uint8Array(16))).toThrow();
  });

  it("give the same key bytes in both encodings: ASCII of S", () => {
    const s = generatePskSecret();
    const { key, keyHex } = describePskKey(s);
    expect(key).toBe(s);
    expect(keyHex).toHaveLength(128);
    expect(Buffer.from(keyHex, "hex").toString("ascii")).toBe(s);
    expect(Buffer.from(pskKeyBytes(s))).toEqual(Buffer.from(s, "ascii"));
    // Independent encoder: od(1) prints the bytes of S as hex.
    const od = execFileSync("od", ["-An", "-v", "-tx1"], { input: s, encoding: "utf8" }).replace(/\s+/g, "");
    expect(mosquittoKeyHex(s)).toBe(od);
  });

  it("refuses anything that is not a generated secret", () => {
    expect(() => mosquittoKeyHex("ABCDEF".padEnd(64, "0"))).toThrow(/64 lowercase hex/);
    expect(() => mosquittoKeyHex("00")).toThrow();
    try {
      mosquittoKeyHex("z".repeat(64));
    } catch (e) {
      expect(String(e)).not.toContain("zzzz");
    }
  });
});

describe("PSK identities", () => {
  it("derive versions from a base and recover the base", () => {
    expect(pskIdentityForVersion("sensor-1", 1)).toBe("sensor-1");
    expect(pskIdentityForVersion("sensor-1", 2)).toBe("sensor-1.v2");
    expect(pskIdentityBase("sensor-1.v2", 2)).toBe("sensor-1");
    expect(pskIdentityBase("sensor-1", 1)).toBe("sensor-1");
    // A device whose own name ends in ".v3" keeps it at version 1.
    expect(pskIdentityBase("probe.v3", 1)).toBe("probe.v3");
    expect(pskIdentityBase("custom", 4)).toBe("custom");
    expect(() => pskIdentityForVersion("a".repeat(127), 2)).toThrow(/not usable/);
    expect(() => pskIdentityForVersion("x", 0)).toThrow();
  });

  it("allow only characters safe in both broker files", () => {
    for (const ok of ["dev1", "Dev_1.v2", "a-b.c", "9"]) expect(isValidPskIdentity(ok)).toBe(true);
    for (const bad of ["", "a:b", "a b", "#dev", "a#b", "-dev", ".dev", "dév", "a\tb", "a\nb", "x".repeat(129)]) {
      expect(isValidPskIdentity(bad)).toBe(false);
      expect(ZPskIdentity.safeParse(bad).success).toBe(false);
    }
  });

  it("validate create/rotate input and the export format", () => {
    expect(ZCreatePsk.parse({})).toEqual({});
    expect(ZCreatePsk.parse({ overlapSeconds: 3, identity: "d.v9" })).toEqual({ overlapSeconds: 3, identity: "d.v9" });
    expect(ZCreatePsk.safeParse({ overlapSeconds: -1 }).success).toBe(false);
    expect(ZCreatePsk.safeParse({ overlapSeconds: 1.5 }).success).toBe(false);
    expect(ZCreatePsk.safeParse({ key: "chosen-by-caller" }).success).toBe(false);
    expect(ZPskFileQuery.safeParse({ format: "mosquitto" }).success).toBe(true);
    expect(ZPskFileQuery.safeParse({ format: "hivemq" }).success).toBe(false);
    expect(ZPskFileQuery.safeParse({}).success).toBe(false);
  });
});

describe("PSK files", () => {
  const a = generatePskSecret();
  const b = generatePskSecret();
  const c = generatePskSecret();
  const psks: ExportablePsk[] = [
    { identity: "zeta", secret: a, status: "active", expiresAt: null, revokedAt: null },
    { identity: "alpha", secret: b, status: "active", expiresAt: new Date(NOW.getTime() + 3000), revokedAt: null },
    { identity: "alpha.v2", secret: c, status: "active", expiresAt: null, revokedAt: null },
    { identity: "gone", status: "revoked", expiresAt: null, revokedAt: new Date(NOW.getTime() - DAY) },
    { identity: "ended", status: "active", expiresAt: new Date(NOW.getTime() - 1000), revokedAt: null },
    { identity: "ancient", status: "revoked", expiresAt: null, revokedAt: new Date(NOW.getTime() - 40 * DAY) },
  ];
  const opts = { clock, tombstoneRetentionMs: 30 * DAY, masterKey };

  it("mosquitto: identity:hex(ASCII(S)) for live PSKs only, sorted, no comments", () => {
    const file = buildPskFile(psks, { ...opts, format: "mosquitto" });
    expect(file.body).toBe(`alpha:${mosquittoKeyHex(b)}\nalpha.v2:${mosquittoKeyHex(c)}\nzeta:${mosquittoKeyHex(a)}\n`);
    expect(validatePskFile(Buffer.from(file.body), "mosquitto")).toEqual({ entries: 3, warnings: [] });
    const keys = decode(file.body, "mosquitto");
    expect(keys.get("zeta")).toEqual(Buffer.from(a, "ascii"));
    expect(file).toMatchObject({ liveCount: 3, tombstoneCount: 0, changesAt: new Date(NOW.getTime() + 3000) });
  });

  it("emqx: identity:S for live PSKs and stable tombstones for recently ended identities", () => {
    const file = buildPskFile(psks, { ...opts, format: "emqx" });
    expect(validatePskFile(Buffer.from(file.body), "emqx")).toEqual({ entries: 5, warnings: [] });
    expect(file.body).not.toMatch(/^#|\n\n|^\n/m);
    const keys = decode(file.body, "emqx");
    expect([...keys.keys()]).toEqual(["alpha", "alpha.v2", "ended", "gone", "zeta"]);
    // Same key bytes as mosquitto's file for every live identity.
    const mosq = decode(buildPskFile(psks, { ...opts, format: "mosquitto" }).body, "mosquitto");
    for (const id of ["alpha", "alpha.v2", "zeta"]) expect(keys.get(id)).toEqual(mosq.get(id));
    const tombstone = keys.get("gone")!.toString();
    expect(tombstone).toBe(pskTombstoneSecret(masterKey, "gone", psks[3].revokedAt!));
    expect(tombstone).toMatch(/^[0-9a-f]{64}$/);
    expect(keys.has("ancient")).toBe(false);
    expect(file.tombstoneCount).toBe(2);
    // Next change: the overlap end of "alpha" (before any tombstone retention ends).
    expect(file.changesAt).toEqual(new Date(NOW.getTime() + 3000));
    // Stable across builds (ETag), different per identity, per end time and per master key.
    expect(buildPskFile(psks, { ...opts, format: "emqx" }).body).toBe(file.body);
    expect(pskTombstoneSecret(masterKey, "gone", new Date(0))).not.toBe(tombstone);
    expect(pskTombstoneSecret(new Uint8Array(randomBytes(32)), "gone", psks[3].revokedAt!)).not.toBe(tombstone);
  });

  it("drops an overlapped key by itself when its window ends", () => {
    const later = { ...opts, clock: fixedClock(NOW.getTime() + 3000) };
    const mosq = buildPskFile(psks, { ...later, format: "mosquitto" });
    expect(decode(mosq.body, "mosquitto").has("alpha")).toBe(false);
    const emqx = decode(buildPskFile(psks, { ...later, format: "emqx" }).body, "emqx");
    expect(emqx.get("alpha")!.toString()).toBe(pskTombstoneSecret(masterKey, "alpha", psks[1].expiresAt!));
    expect(isPskLive(psks[1], NOW)).toBe(true);
    expect(isPskLive(psks[1], new Date(NOW.getTime() + 3000))).toBe(false);
  });

  it("is empty without PSKs and refuses unsafe identities or duplicates", () => {
    expect(buildPskFile([], { ...opts, format: "mosquitto" })).toMatchObject({ body: "", changesAt: null });
    expect(() => buildPskFile([{ ...psks[0], identity: "a:b" }], { ...opts, format: "emqx" })).toThrow(/not usable/);
    expect(() => buildPskFile([psks[0], psks[0]], { ...opts, format: "emqx" })).toThrow(/twice/);
    expect(() => buildPskFile([psks[3]], { ...opts, masterKey: undefined, format: "emqx" })).toThrow(/master key/);
  });
});
