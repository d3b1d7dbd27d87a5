// PSK lifecycle end to end on a real database (SQLite, and PostgreSQL when configured) and a real
// Mosquitto PSK listener fed by broker-sync: create, rotate without and with overlap, reveal,
// revoke, decommission; the broker export over HTTP (auth, format, ETag); the REST routes; bad
// input that must change nothing. Plus the real server, when its build and dispatch include PSKs.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";

// lib/api/route.ts is server-only; its handlers are plain (Request) => Response functions here.
vi.mock("server-only", () => ({}));

import { testProviders } from "../helpers/databases";
import { startInstance, type TestInstance } from "../helpers/instance";
import { startServer, type TestServer } from "../helpers/server";
import { freePort, mosquittoPub, startMosquitto, type RunningMosquitto } from "../helpers/mosquitto";
import { api } from "../helpers/http";
import { db, disconnectDb } from "@/lib/db";
import { resetConfigForTests } from "@/lib/config";
import { SYSTEM_ACTOR, type Actor } from "@/lib/auth/roles";
import { createDevice, decommissionDevice, getDevice } from "@/lib/services/devices";
import { authenticateToken, createApiToken } from "@/lib/services/tokens";
import { createOrRotatePsk, listDevicePsks, revealPsk, revokeDevicePsk, type PskIssued } from "@/lib/services/psk";
import { pskFileHandler, PSK_FILE_PATH } from "@/lib/http/psk-file";
import { pskTombstoneSecret } from "@/lib/pki/psk";
import { getMasterKey } from "@/lib/secrets";
import { syncOnce, BrokerSyncError } from "@/lib/broker/sync";
import { OUTPUT_FILES } from "@/lib/broker/files";
import * as pskRoute from "@/app/api/v1/devices/[id]/psk/route";
import * as revealRoute from "@/app/api/v1/devices/[id]/psk/reveal/route";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const ROLES = ["admin", "operator", "viewer", "broker"] as const;
type RoleName = (typeof ROLES)[number];

describe.each(testProviders())("PSK lifecycle on %s", (provider) => {
  let inst: TestInstance;
  let server: http.Server;
  let base: string;
  let dir: string;
  let mosq: RunningMosquitto;
  let mqttPort: number;
  const tokens = {} as Record<RoleName, string>;
  const actors = {} as Record<RoleName, Actor>;
  const dev: Record<string, string> = {};
  const issued: Record<string, PskIssued> = {};

  const pub = async (identity: string, keyHex: string) => (await mosquittoPub({ port: mqttPort, pskIdentity: identity, psk: keyHex, tlsVersion: "tlsv1.2" })).code === 0;
  const reloads = () => (mosq.logs().match(/Reloading config/g) ?? []).length;

  /** One broker-sync run against our handler; returns whether psk.txt changed (then mosquitto has reloaded). */
  async function sync(): Promise<boolean> {
    const before = reloads();
    let result;
    try {
      result = await syncOnce({ url: base, token: tokens.broker, outDir: dir, format: "mosquitto", allowHttp: true, psk: "require", reload: { kind: "pid", pid: mosq.pid } });
    } catch (e) {
      // This test server serves only the PSK file: the CA chain/CRL part of the run fails on 404,
      // which broker-sync keeps apart from the PSK file. The PSK part must not fail.
      if (!(e instanceof BrokerSyncError)) throw e;
      expect(e.failures.filter((f) => f.startsWith(OUTPUT_FILES.psk))).toEqual([]);
      result = e.result;
    }
    const changed = result.changed.includes(OUTPUT_FILES.psk);
    if (changed) await waitFor("mosquitto to reload", () => reloads() > before, 5000, 20);
    return changed;
  }

  const installed = () => readFileSync(path.join(dir, OUTPUT_FILES.psk), "utf8");

  async function exportFile(format: string, token: string | null = tokens.broker, headers: Record<string, string> = {}, method = "GET") {
    const res = await fetch(`${base}${PSK_FILE_PATH}?format=${format}`, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  async function snapshot() {
    const psks = await db().psk.findMany({ orderBy: { id: "asc" } });
    const devices = await db().device.findMany({ orderBy: { id: "asc" }, select: { id: true, hasPsk: true, status: true } });
    return { psks: JSON.stringify(psks), devices: JSON.stringify(devices), audit: await db().auditEvent.count() };
  }

  beforeAll(async () => {
    inst = await startInstance(provider);
    for (const role of ROLES) {
      tokens[role] = (await createApiToken(SYSTEM_ACTOR, { name: `psk-${role}`, role })).token;
      actors[role] = (await authenticateToken(tokens[role]))!;
    }
    for (const name of ["sensor-a", "sensor-b", "sensor-c", "sensor-d", "sensor-e"]) dev[name] = (await createDevice(SYSTEM_ACTOR, { name })).id;

    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      if (url.pathname === PSK_FILE_PATH) void pskFileHandler(req, res, url);
      else res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    dir = mkdtempSync(path.join(tmpdir(), "certfleet-psk-"));
    writeFileSync(path.join(dir, OUTPUT_FILES.psk), "", { mode: 0o640 });
    mqttPort = await freePort();
    mosq = await startMosquitto(
      [`listener ${mqttPort} 127.0.0.1`, "psk_hint certfleet", `psk_file ${path.join(dir, OUTPUT_FILES.psk)}`, "use_identity_as_username true", "allow_anonymous true", ""].join("\n"),
      dir,
      [mqttPort],
    );
  });

  afterAll(async () => {
    await mosq?.stop();
    await new Promise((r) => server?.close(r));
    await inst?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("creates PSKs whose key works on the broker; the database holds them only sealed", async () => {
    const a = (issued.a1 = await createOrRotatePsk(actors.operator, dev["sensor-a"], {}));
    const b = (issued.b = await createOrRotatePsk(actors.operator, dev["sensor-b"], {}));
    expect(a).toMatchObject({ action: "create", identity: "sensor-a", version: 1, status: "active", current: true, replaced: [] });
    expect(a.key).toMatch(/^[0-9a-f]{64}$/);
    expect(a.keyHex).toBe(Buffer.from(a.key, "ascii").toString("hex"));
    expect(b.identity).toBe("sensor-b");
    expect((await getDevice(actors.viewer, dev["sensor-a"])).hasPsk).toBe(true);

    const raw = JSON.stringify(await db().$queryRawUnsafe('SELECT * FROM "Psk"'), (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    for (const secret of [a.key, a.keyHex, b.key, b.keyHex]) expect(raw.toLowerCase()).not.toContain(secret);
    expect(raw).toContain("cfs1.");
    const audit = JSON.stringify(await db().auditEvent.findMany());
    for (const secret of [a.key, a.keyHex, b.key, b.keyHex]) expect(audit).not.toContain(secret);

    expect(await sync()).toBe(true);
    expect(installed()).toBe(`sensor-a:${a.keyHex}\nsensor-b:${b.keyHex}\n`);
    expect(await pub("sensor-a", a.keyHex)).toBe(true);
    expect(await pub("sensor-b", b.keyHex)).toBe(true);
    expect(await pub("sensor-a", b.keyHex)).toBe(false);
    // Nothing changed: the ETag answers 304 and nothing is reinstalled.
    expect(await sync()).toBe(false);
  });

  it("rotates without overlap: same identity, the old key is refused at once, the new one accepted", async () => {
    const old = issued.a1;
    const a2 = (issued.a2 = await createOrRotatePsk(actors.operator, dev["sensor-a"], {}));
    expect(a2).toMatchObject({ action: "rotate", identity: "sensor-a", version: 1 });
    expect(a2.key).not.toBe(old.key);
    expect(a2.replaced).toEqual([{ identity: "sensor-a", validUntil: expect.any(Date) }]);
    expect(await sync()).toBe(true);
    expect(await pub("sensor-a", old.keyHex)).toBe(false);
    expect(await pub("sensor-a", a2.keyHex)).toBe(true);
    expect(await pub("sensor-b", issued.b.keyHex)).toBe(true);
  });

  it("rotates with an overlap window: both keys work until it ends, then only the new one", async () => {
    const old = issued.a2;
    const a3 = (issued.a3 = await createOrRotatePsk(actors.operator, dev["sensor-a"], { overlapSeconds: 3 }));
    expect(a3).toMatchObject({ action: "rotate", identity: "sensor-a.v2", version: 2, current: true });
    const until = a3.replaced[0].validUntil.getTime();
    expect(a3.replaced).toEqual([{ identity: "sensor-a", validUntil: expect.any(Date) }]);
    expect(until - Date.now()).toBeGreaterThan(1500);
    expect(await sync()).toBe(true);
    expect(await pub("sensor-a", old.keyHex)).toBe(true);
    expect(await pub("sensor-a.v2", a3.keyHex)).toBe(true);
    expect(await pub("sensor-b", issued.b.keyHex)).toBe(true);
    expect(Date.now()).toBeLessThan(until);

    // Nobody touches anything: the export drops the old identity by itself when the window ends.
    await waitFor("the overlap to end in the export", async () => (await sync()) && !installed().includes("sensor-a:"), 8000, 250);
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    expect(await pub("sensor-a", old.keyHex)).toBe(false);
    expect(await pub("sensor-a.v2", a3.keyHex)).toBe(true);
    expect(await pub("sensor-b", issued.b.keyHex)).toBe(true);
    const listed = await listDevicePsks(actors.viewer, dev["sensor-a"]);
    expect(listed.map((p) => [p.identity, p.status, p.current])).toEqual([
      ["sensor-a.v2", "active", true],
      ["sensor-a", "expired", false],
    ]);
    expect(JSON.stringify(listed)).not.toContain(a3.key);
  });

  it("reveals a key again to an admin only, and audits it", async () => {
    const before = await snapshot();
    for (const role of ["operator", "viewer", "broker"] as const) {
      await expect(revealPsk(actors[role], dev["sensor-a"])).rejects.toMatchObject({ code: "FORBIDDEN" });
    }
    expect(await snapshot()).toEqual(before);
    const shown = await revealPsk(actors.admin, dev["sensor-a"]);
    expect(shown).toMatchObject({ identity: "sensor-a.v2", key: issued.a3.key, keyHex: issued.a3.keyHex });
    const event = await db().auditEvent.findFirst({ where: { action: "psk.reveal" }, orderBy: { seq: "desc" } });
    expect(event).toMatchObject({ actor: `token:${actors.admin.id}`, targetId: dev["sensor-a"] });
    expect(event!.details).not.toContain(issued.a3.key);
  });

  it("revokes: the device is refused at once, others keep working; EMQX gets stable tombstones", async () => {
    const a3 = issued.a3;
    const emqxBefore = await exportFile("emqx");
    expect(emqxBefore.text.split("\n")).toContain(`sensor-a.v2:${a3.key}`);
    const expiredRow = await db().psk.findUniqueOrThrow({ where: { identity: "sensor-a" } });
    expect(emqxBefore.text.split("\n")).toContain(`sensor-a:${pskTombstoneSecret(getMasterKey(), "sensor-a", expiredRow.expiresAt!)}`);

    const result = await revokeDevicePsk(actors.operator, dev["sensor-a"]);
    expect(result.revoked.map((p) => [p.identity, p.status])).toEqual([["sensor-a.v2", "revoked"]]);
    expect((await getDevice(actors.viewer, dev["sensor-a"])).hasPsk).toBe(false);
    expect(await sync()).toBe(true);
    expect(installed()).not.toContain("sensor-a");
    expect(await pub("sensor-a.v2", a3.keyHex)).toBe(false);
    expect(await pub("sensor-b", issued.b.keyHex)).toBe(true);

    const emqx = await exportFile("emqx");
    const lines = emqx.text.trimEnd().split("\n");
    const tomb = lines.find((l) => l.startsWith("sensor-a.v2:"))!;
    expect(tomb).toBeDefined();
    expect(tomb).not.toContain(a3.key);
    expect(tomb.slice("sensor-a.v2:".length)).toMatch(/^[0-9a-f]{64}$/);
    expect(lines).toContain(`sensor-b:${issued.b.key}`);
    const again = await exportFile("emqx");
    expect(again.text).toBe(emqx.text);
    expect(again.headers.get("etag")).toBe(emqx.headers.get("etag"));

    await expect(revokeDevicePsk(actors.operator, dev["sensor-a"])).rejects.toMatchObject({ code: "NOT_FOUND" });
    // A new PSK for the device takes its first identity back, with a new key.
    const fresh = await createOrRotatePsk(actors.operator, dev["sensor-a"], {});
    expect(fresh).toMatchObject({ action: "create", identity: "sensor-a" });
    expect(await sync()).toBe(true);
    expect(await pub("sensor-a", fresh.keyHex)).toBe(true);
    expect(await pub("sensor-a", issued.a2.keyHex)).toBe(false);
  });

  it("decommissioning a device revokes its PSK and the export follows", async () => {
    const c = await createOrRotatePsk(actors.operator, dev["sensor-c"], {});
    expect(await sync()).toBe(true);
    expect(await pub("sensor-c", c.keyHex)).toBe(true);
    await decommissionDevice(actors.operator, dev["sensor-c"]);
    // decommissionDevice does not signal PSK changes itself: the export notices within a second.
    await waitFor("the export to drop sensor-c", async () => (await sync()) || !installed().includes("sensor-c"), 5000, 200);
    expect(installed()).not.toContain("sensor-c");
    expect(await pub("sensor-c", c.keyHex)).toBe(false);
    expect(await pub("sensor-b", issued.b.keyHex)).toBe(true);
  });

  it("audits every create, rotate, reveal and revoke, without secrets", async () => {
    const events = await db().auditEvent.findMany({ where: { action: { startsWith: "psk." } }, orderBy: { seq: "asc" } });
    const actions = new Set(events.map((e) => e.action));
    expect([...actions].sort()).toEqual(["psk.create", "psk.reveal", "psk.revoke", "psk.rotate"]);
    expect(events.filter((e) => e.action === "psk.rotate")).toHaveLength(2);
    const text = JSON.stringify(events);
    for (const p of Object.values(issued)) {
      expect(text).not.toContain(p.key);
      expect(text).not.toContain(p.keyHex);
    }
  });

  it("refuses bad input with clear errors and changes nothing", async () => {
    const before = await snapshot();
    await expect(createOrRotatePsk(actors.operator, "no-such-device", {})).rejects.toMatchObject({ code: "NOT_FOUND" });
    for (const role of ["viewer", "broker"] as const) {
      await expect(createOrRotatePsk(actors[role], dev["sensor-b"], {})).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(createOrRotatePsk(actors[role], dev["sensor-d"], {})).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(revokeDevicePsk(actors[role], dev["sensor-b"])).rejects.toMatchObject({ code: "FORBIDDEN" });
    }
    await expect(createOrRotatePsk(actors.operator, dev["sensor-d"], { identity: "sensor-b" })).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringContaining("another device") });
    // The overlap identity of a rotation may not take another device's identity either.
    await expect(createOrRotatePsk(actors.operator, dev["sensor-b"], { overlapSeconds: 60, identity: "sensor-a" })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(createOrRotatePsk(actors.operator, dev["sensor-c"], {})).rejects.toMatchObject({ code: "INVALID_STATE", message: expect.stringContaining("decommissioned") });
    await expect(revealPsk(actors.admin, dev["sensor-d"])).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(revokeDevicePsk(actors.operator, dev["sensor-d"])).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await snapshot()).toEqual(before);
    expect(await pub("sensor-b", issued.b.keyHex)).toBe(true);
  });

  it("serves the broker export with token auth, format checks, ETag and no-store", async () => {
    const noToken = await exportFile("mosquitto", null);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get("content-type")).toBe("application/problem+json");
    expect(noToken.headers.get("www-authenticate")).toContain("Bearer");
    expect(JSON.parse(noToken.text)).toMatchObject({ status: 401, code: "UNAUTHENTICATED", instance: PSK_FILE_PATH });
    expect((await exportFile("mosquitto", "cf_not-a-token")).status).toBe(401);
    for (const role of ["viewer", "operator"] as const) {
      const denied = await exportFile("mosquitto", tokens[role]);
      expect(denied.status).toBe(403);
      expect(JSON.parse(denied.text)).toMatchObject({ status: 403, title: "Forbidden" });
    }
    for (const format of ["hivemq", "", "MOSQUITTO"]) {
      const bad = await exportFile(format);
      expect(bad.status).toBe(400);
      expect(bad.headers.get("content-type")).toBe("application/problem+json");
      expect(JSON.parse(bad.text).detail).toContain("mosquitto");
    }
    expect((await exportFile("emqx", tokens.admin)).status).toBe(200);

    const ok = await exportFile("mosquitto");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(ok.headers.get("cache-control")).toBe("no-store");
    const etag = ok.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(ok.text).toBe(installed());
    const notModified = await exportFile("mosquitto", tokens.broker, { "if-none-match": etag });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe("");
    expect(notModified.headers.get("etag")).toBe(etag);
    expect((await exportFile("mosquitto", tokens.broker, { "if-none-match": `"other", W/${etag}` })).status).toBe(304);
    expect((await exportFile("mosquitto", tokens.broker, { "if-none-match": '"other"' })).status).toBe(200);
    const head = await exportFile("mosquitto", tokens.broker, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect(head.headers.get("etag")).toBe(etag);
    expect((await exportFile("mosquitto", tokens.broker, {}, "POST")).status).toBe(405);

    await createOrRotatePsk(actors.operator, dev["sensor-e"], {});
    const changed = await exportFile("mosquitto", tokens.broker, { "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(changed.text).toContain("sensor-e:");
  });

  describe("REST routes (route handlers in-process)", () => {
    const call = async (handler: (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>, method: string, id: string, role: RoleName | null, body?: unknown, suffix = "") => {
      const req = new Request(`http://127.0.0.1/api/v1/devices/${id}/psk${suffix}`, {
        method,
        headers: { ...(role ? { authorization: `Bearer ${tokens[role]}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const res = await handler(req, { params: Promise.resolve({ id }) });
      const text = await res.text();
      return { status: res.status, type: res.headers.get("content-type") ?? "", data: text ? JSON.parse(text) : undefined };
    };

    it("creates, rotates, reveals, lists and revokes with the right status codes", async () => {
      const id = dev["sensor-d"];
      const created = await call(pskRoute.POST, "POST", id, "operator", {});
      expect(created.status).toBe(201);
      expect(created.data).toMatchObject({ action: "create", identity: "sensor-d", version: 1 });
      expect(created.data.key).toMatch(/^[0-9a-f]{64}$/);
      expect(created.data.keyHex).toBe(Buffer.from(created.data.key).toString("hex"));
      const rotated = await call(pskRoute.POST, "POST", id, "operator", { overlapSeconds: 600 });
      expect(rotated.status).toBe(201);
      expect(rotated.data).toMatchObject({ action: "rotate", identity: "sensor-d.v2", replaced: [{ identity: "sensor-d" }] });

      expect((await call(revealRoute.POST, "POST", id, "operator", {}, "/reveal")).status).toBe(403);
      const revealed = await call(revealRoute.POST, "POST", id, "admin", { identity: "sensor-d" }, "/reveal");
      expect(revealed.status).toBe(200);
      expect(revealed.data).toMatchObject({ identity: "sensor-d", key: created.data.key, status: "active", current: false });

      const listed = await call(pskRoute.GET, "GET", id, "viewer");
      expect(listed.status).toBe(200);
      expect(listed.data.items.map((p: any) => p.identity)).toEqual(["sensor-d.v2", "sensor-d"]);
      expect(JSON.stringify(listed.data)).not.toContain(created.data.key);

      const revoked = await call(pskRoute.DELETE, "DELETE", id, "operator");
      expect(revoked.status).toBe(200);
      expect(revoked.data.revoked.map((p: any) => p.identity).sort()).toEqual(["sensor-d", "sensor-d.v2"]);
      const gone = await call(pskRoute.DELETE, "DELETE", id, "operator");
      expect(gone.status).toBe(404);
      expect(gone.type).toBe("application/problem+json");
    });

    it("answers bad requests with problem+json and changes nothing", async () => {
      const before = await snapshot();
      const cases: [Awaited<ReturnType<typeof call>>, number][] = [
        [await call(pskRoute.POST, "POST", "no-such-device", "operator", {}), 404],
        [await call(pskRoute.POST, "POST", dev["sensor-b"], "viewer", {}), 403],
        [await call(pskRoute.POST, "POST", dev["sensor-b"], "broker", {}), 403],
        [await call(pskRoute.DELETE, "DELETE", dev["sensor-b"], "viewer"), 403],
        [await call(revealRoute.POST, "POST", dev["sensor-b"], "viewer", {}, "/reveal"), 403],
        [await call(revealRoute.POST, "POST", dev["sensor-b"], "broker", {}, "/reveal"), 403],
        [await call(revealRoute.POST, "POST", dev["sensor-b"], "operator", {}, "/reveal"), 403],
        [await call(pskRoute.POST, "POST", dev["sensor-d"], "operator", { identity: "sensor-b" }), 409],
        [await call(pskRoute.POST, "POST", dev["sensor-c"], "operator", {}), 409],
        [await call(pskRoute.POST, "POST", dev["sensor-d"], "operator", { identity: "bad:identity" }), 400],
        [await call(pskRoute.POST, "POST", dev["sensor-d"], "operator", { identity: "has space" }), 400],
        [await call(pskRoute.POST, "POST", dev["sensor-d"], "operator", { overlapSeconds: -5 }), 400],
        [await call(pskRoute.POST, "POST", dev["sensor-d"], "operator", { key: "my-own-key" }), 400],
        [await call(pskRoute.POST, "POST", dev["sensor-d"], "operator", "{not json"), 400],
        [await call(pskRoute.POST, "POST", dev["sensor-d"], null, {}), 401],
      ];
      for (const [res, status] of cases) {
        expect(res.status).toBe(status);
        expect(res.type).toBe("application/problem+json");
        expect(res.data).toMatchObject({ status, detail: expect.any(String) });
      }
      expect(cases[7][0].data.detail).toContain("another device");
      expect(cases[8][0].data.detail).toContain("decommissioned");
      expect(await snapshot()).toEqual(before);
    });
  });
});

// The real server (tsx server.ts, production build). One provider is enough here (both are
// covered in-process above): PostgreSQL when configured.
describe.each(testProviders().slice(-1))("PSK over the real server on %s", (provider) => {
  let srv: TestServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    srv = await startServer(provider);
    // Tokens straight into the server's database (the CLI would cost ~2 s of startup per token).
    await disconnectDb();
    process.env.DATABASE_URL = srv.database.url;
    resetConfigForTests();
    for (const role of ROLES) tokens[role] = (await createApiToken(SYSTEM_ACTOR, { name: `t-${role}`, role })).token;
    await disconnectDb();
  });
  afterAll(async () => srv?.stop());

  it("creates, reveals and revokes over REST", async () => {
    const device = await api(srv.url, tokens.operator, "POST", "/api/v1/devices", { name: "real-1" });
    expect(device.status).toBe(201);
    const created = await api(srv.url, tokens.operator, "POST", `/api/v1/devices/${device.data.id}/psk`, {});
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ identity: "real-1", key: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await api(srv.url, tokens.viewer, "POST", `/api/v1/devices/${device.data.id}/psk`, {})).status).toBe(403);
    expect((await api(srv.url, tokens.operator, "POST", `/api/v1/devices/${device.data.id}/psk/reveal`, {})).status).toBe(403);
    const shown = await api(srv.url, tokens.admin, "POST", `/api/v1/devices/${device.data.id}/psk/reveal`, {});
    expect(shown.data.key).toBe(created.data.key);
    expect((await api(srv.url, tokens.operator, "DELETE", `/api/v1/devices/${device.data.id}/psk`)).status).toBe(200);
    expect((await api(srv.url, tokens.operator, "POST", `/api/v1/devices/no-such-device/psk`, {})).status).toBe(404);
  });

  it("serves the PSK file to brokers with ETag", async () => {
    const device = await api(srv.url, tokens.operator, "POST", "/api/v1/devices", { name: "real-2" });
    const created = (await api(srv.url, tokens.operator, "POST", `/api/v1/devices/${device.data.id}/psk`, {})).data;
    const path = "/api/v1/broker/psk-file?format=mosquitto";
    const res = await api(srv.url, tokens.broker, "GET", path);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(String(res.data)).toContain(`real-2:${created.keyHex}`);
    const etag = res.headers.get("etag")!;
    expect((await api(srv.url, tokens.broker, "GET", path, undefined, { "if-none-match": etag })).status).toBe(304);
    expect((await api(srv.url, tokens.broker, "GET", "/api/v1/broker/psk-file?format=hivemq")).status).toBe(400);
    expect((await api(srv.url, tokens.viewer, "GET", path)).status).toBe(403);
    expect((await api(srv.url, null, "GET", path)).status).toBe(401);
  });
});
