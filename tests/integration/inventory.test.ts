// The device inventory on a real database (SQLite, and PostgreSQL when configured): search,
// filters and keyset pages of the dashboard and of the REST list (one walk, same order), the tag
// suggestions, PostgreSQL's prefix indexes, and the benchmark's bulk seeding in Prisma's formats.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testProviders } from "../helpers/databases";
import { startInstance, type TestInstance } from "../helpers/instance";
import { db } from "@/lib/db";
import { SYSTEM_ACTOR } from "@/lib/auth/roles";
import { createDevice, listDevices } from "@/lib/services/devices";
import { countInventory, listInventory, listKnownTags } from "@/lib/services/inventory";
import { ZDeviceQuery } from "@/lib/validation/devices";
import { parseInventoryQuery } from "@/lib/validation/inventory";
import { closeSeedConnections, seedBulk } from "@/bench/seed";

const DAY = 86_400_000;

describe.each(testProviders())("inventory on %s", (provider) => {
  let inst: TestInstance;
  const now = Date.now();
  /** name → days until its current certificate expires (null: no certificate). */
  const fleet: [string, string | undefined, string[], number | null][] = [
    ["alpha-1", "EXT-A1", ["sensor", "site:1"], 10],
    ["alpha-2", "EXT-A2", ["sensor"], 45],
    ["Alpha-3", undefined, ["gateway"], -5],
    ["beta_1", "BETA-X", ["gateway", "site:1"], 20],
    ["betax1", undefined, ["meter"], null],
    ["gamma-1", "ext-g1", [], 400],
    ["gamma-2", undefined, ["site:2"], -40],
  ];

  beforeAll(async () => {
    inst = await startInstance(provider);
    for (const [name, externalId, tags, days] of fleet) {
      const d = await createDevice(SYSTEM_ACTOR, { name, externalId, tags });
      if (days !== null) await db().device.update({ where: { id: d.id }, data: { certNotAfter: new Date(now + days * DAY), currentCertId: `cert-of-${name}` } });
    }
  });
  afterAll(async () => inst?.close());

  const rest = async (params: Record<string, string>) => {
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listDevices(SYSTEM_ACTOR, ZDeviceQuery.parse({ ...params, limit: "2", ...(cursor ? { cursor } : {}) }));
      names.push(...page.items.map((d) => d.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return names;
  };
  const dashboard = async (params: Record<string, string>) => {
    const names: string[] = [];
    let cursor: string | undefined;
    let total = -1;
    do {
      const page = await listInventory(SYSTEM_ACTOR, parseInventoryQuery({ ...params, limit: "10", ...(cursor ? { cursor } : {}) }));
      names.push(...page.items.map((d) => d.name));
      total = page.total;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { names, total };
  };

  it("lists the tags in use, each once, in order, up to the limit", async () => {
    expect(await listKnownTags(SYSTEM_ACTOR)).toEqual(["gateway", "meter", "sensor", "site:1", "site:2"]);
    expect(await listKnownTags(SYSTEM_ACTOR, 2)).toEqual(["gateway", "meter"]);
  });

  it("searches names and external ids by prefix (either case), tags exactly, and never treats _ or % as wildcards", async () => {
    for (const [q, expected] of [
      ["alpha", ["alpha-1", "alpha-2"]],
      ["Alpha", ["Alpha-3", "alpha-1", "alpha-2"]],
      ["EXT-", ["alpha-1", "alpha-2", "gamma-1"]],
      ["ext-", ["gamma-1"]],
      ["beta_", ["beta_1"]],
      ["beta%", []],
      ["site:1", ["alpha-1", "beta_1"]],
    ] as const) {
      const sorted = [...expected].sort();
      expect((await rest({ q })).sort(), `REST q=${q}`).toEqual(sorted);
      const d = await dashboard({ q });
      expect(d.names.sort(), `dashboard q=${q}`).toEqual(sorted);
      expect(d.total).toBe(expected.length);
    }
  });

  it("walks every page in the same order in the REST list and the dashboard, certificate-less devices last by expiry", async () => {
    const byExpiry = ["gamma-2", "Alpha-3", "alpha-1", "beta_1", "alpha-2", "gamma-1", "betax1"];
    expect(await rest({ sort: "expiry" })).toEqual(byExpiry);
    expect((await dashboard({ sort: "expiry" })).names).toEqual(byExpiry);
    const byName = await rest({});
    expect(byName).toHaveLength(fleet.length);
    expect((await dashboard({})).names).toEqual(byName);
    const byCreation = await db().device.findMany({ orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: { name: true } });
    expect(await rest({ sort: "created" })).toEqual(byCreation.map((d) => d.name));
  });

  it("filters by expiry window: within N days (still valid), and 0 for the expired ones", async () => {
    expect(await rest({ expiringWithinDays: "30", sort: "expiry" })).toEqual(["alpha-1", "beta_1"]);
    expect(await dashboard({ within: "30", sort: "expiry" })).toEqual({ names: ["alpha-1", "beta_1"], total: 2 });
    expect(await rest({ expiringWithinDays: "0", sort: "expiry" })).toEqual(["gamma-2", "Alpha-3"]);
    expect(await countInventory(SYSTEM_ACTOR, { cert: "expired" })).toBe(2);
  });

  it("still accepts the REST list's former cursor format", async () => {
    const second = (await listDevices(SYSTEM_ACTOR, ZDeviceQuery.parse({ sort: "expiry", limit: "2" }))).items[1];
    const legacy = Buffer.from(JSON.stringify({ k: second.certNotAfter!.toISOString(), id: second.id })).toString("base64url");
    const next = await listDevices(SYSTEM_ACTOR, ZDeviceQuery.parse({ sort: "expiry", limit: "10", cursor: legacy }));
    expect(next.items.map((d) => d.name)).toEqual(["alpha-1", "beta_1", "alpha-2", "gamma-1", "betax1"]);
  });

  it("filters by EST enrollment (never / re-enrolls itself) from the (estEnrolledBy, name) index", async () => {
    await db().device.updateMany({ where: { name: { in: ["alpha-2", "gamma-1"] } }, data: { estEnrolledBy: "reenroll", estEnrolledAt: new Date() } });
    try {
      expect(await rest({ est: "self" })).toEqual(["alpha-2", "gamma-1"]);
      expect((await dashboard({ est: "self" })).names).toEqual(["alpha-2", "gamma-1"]);
      const never = fleet.map(([name]) => name).filter((n) => n !== "alpha-2" && n !== "gamma-1");
      expect(await rest({ est: "never" })).toEqual(await rest({}).then((all) => all.filter((n) => never.includes(n))));
      expect((await dashboard({ est: "never" })).total).toBe(never.length);
      if (provider === "sqlite") {
        // Counts come from the index alone; pages walk it (or the name index, when the match is dense).
        for (const where of ['"estEnrolledBy" IS NULL', '"estEnrolledBy" IS NOT NULL']) {
          const plan = await db().$queryRawUnsafe<{ detail: string }[]>(`EXPLAIN QUERY PLAN SELECT count(*) FROM "Device" WHERE ${where}`);
          expect(plan.map((r) => r.detail).join("\n")).toMatch(/USING COVERING INDEX Device_estEnrolledBy_name_idx/);
        }
      }
    } finally {
      await db().device.updateMany({ data: { estEnrolledBy: null, estEnrolledAt: null } });
    }
  });

  it("serves prefix search from an index (on PostgreSQL the C-collation ones, whatever the database collation)", async () => {
    for (const [column, index] of [
      ["name", "Device_name_prefix_idx"],
      ["externalId", "Device_externalId_prefix_idx"],
    ]) {
      if (provider === "postgresql") {
        const [, plan] = await db().$transaction([
          db().$executeRawUnsafe("SET LOCAL enable_seqscan = off"),
          db().$queryRawUnsafe<{ "QUERY PLAN": string }[]>(`EXPLAIN SELECT "id" FROM "Device" WHERE "${column}"::text LIKE ($1 || '%')`, "alpha"),
        ]);
        const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
        expect(text).toContain(index);
        expect(text).toMatch(/Index Cond: .*>=/);
      } else {
        // SQLite: the service asks for the range [q, q + U+10FFFF), which an index on the column answers.
        const plan = await db().$queryRawUnsafe<{ detail: string }[]>(`EXPLAIN QUERY PLAN SELECT "id" FROM "Device" WHERE "${column}" >= ? AND "${column}" < ?`, "alpha", "alpha\u{10ffff}");
        expect(plan.map((r) => r.detail).join("\n")).toMatch(new RegExp(`SEARCH Device USING (COVERING )?INDEX \\S+ \\(${column}>\\? AND ${column}<\\?\\)`));
      }
    }
  });

  it("bulk-seeds rows as Prisma would have written them", async () => {
    // Not defaultIssuingCa(): its cache outlives the previous provider's database.
    const ca = await db().certificateAuthority.findFirstOrThrow({ where: { kind: "issuing" } });
    const der = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]);
    const spki = new Uint8Array([0x30, 0x00]);
    const t0 = Date.now();
    await seedBulk({ caId: ca.id, devices: 12, certsPerDevice: 3, revokedEvery: 7, der, spki, prefix: "seed" });
    closeSeedConnections();
    const devices = await db().device.findMany({ where: { name: { startsWith: "seed-" } }, include: { tags: true, certificates: { orderBy: { id: "asc" } } }, orderBy: { name: "asc" } });
    expect(devices).toHaveLength(12);
    const d0 = devices.find((d) => d.id === "seedd0")!;
    expect(d0).toMatchObject({ name: "seed-sensor-0000000", externalId: "SEED-0", status: "active", metadata: "{}", hasPsk: false, currentCertId: "seedd0c2" });
    expect(d0.tags.map((t) => t.tag).sort()).toEqual(["sensor", "site:0"]);
    // Device 0's current certificate expires in (2 × 31 − 20) days (UTC kept through the round trip).
    const current = d0.certificates[2];
    expect(Math.abs(current.notAfter.getTime() - (t0 + 42 * DAY))).toBeLessThan(60_000);
    expect(current.notBefore.getTime()).toBe(current.notAfter.getTime() - 365 * DAY);
    expect(Math.abs(d0.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    for (const d of devices) {
      const cur = d.certificates.find((c) => c.id === d.currentCertId)!;
      expect(d.certNotAfter?.getTime() ?? null).toBe(cur.status === "revoked" ? null : cur.notAfter.getTime());
      for (const c of d.certificates) {
        expect(c).toMatchObject({ caId: ca.id, profile: "device-client", sans: "{}", keySource: "csr", keyAlgorithm: "EC-P256", supersededById: null });
        expect([...c.der]).toEqual([...der]);
        expect([...c.publicKeyDer]).toEqual([...spki]);
        expect(c.serialHex).toMatch(/^7[0-9a-f]{30}$/);
        expect(c.fingerprint).toMatch(/^[0-9a-f]{64}$/);
        expect(c.status === "revoked").toBe(c.revokedAt !== null && c.revocationReason !== null);
      }
    }
    expect(await db().certificate.count({ where: { deviceId: { startsWith: "seedd" }, status: "revoked" } })).toBe(Math.ceil(36 / 7));
  });

  it("searches a broad prefix (more matches than an id list holds) and a narrow one in the same order", async () => {
    const ca = await db().certificateAuthority.findFirstOrThrow({ where: { kind: "issuing" } });
    await seedBulk({ caId: ca.id, devices: 450, certsPerDevice: 1, der: new Uint8Array([0x30, 0x00]), spki: new Uint8Array([0x30, 0x00]), prefix: "wide" });
    closeSeedConnections();
    const all = (await db().device.findMany({ where: { name: { startsWith: "wide-" } }, select: { name: true } })).map((d) => d.name).sort();
    expect(all).toHaveLength(450);
    const broad = await listInventory(SYSTEM_ACTOR, parseInventoryQuery({ q: "wide-", limit: "10" }));
    expect(broad.total).toBe(450);
    expect(broad.items.map((d) => d.name)).toEqual(all.slice(0, 10));
    const narrow = await dashboard({ q: "wide-camera-00000" });
    const expected = all.filter((n) => n.startsWith("wide-camera-00000"));
    expect(expected.length).toBeGreaterThan(10);
    expect(narrow).toEqual({ names: expected, total: expected.length });
  });
});
