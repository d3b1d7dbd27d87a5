// The brokers registry over REST (validation, roles, secrets shown once, OpenAPI) and the pages
// that show it: the Brokers page, the overview's broker health card, the device page's MQTT card.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { launchServer, startServer, type TestServer } from "../helpers/server";
import { testProviders } from "../helpers/databases";
import { api, Browser } from "../helpers/http";

describe("brokers: REST, OpenAPI and pages", () => {
  let server: TestServer;
  let admin: string;
  let viewer: string;
  const env = () => ({ ...process.env, ...server.env });
  const token = (name: string, role: string) => execFileSync(process.execPath, ["cli/bin.mjs", "token", "create", "--name", name, "--role", role], { env: env(), encoding: "utf8" }).trim();

  beforeAll(async () => {
    server = await startServer("sqlite");
    admin = token("admin-1", "admin");
    viewer = token("viewer-1", "viewer");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("registers brokers with validation and roles, never answering a secret twice", async () => {
    const bad = [
      { name: "x y", kind: "rabbitmq" },
      { name: "r1", kind: "kafka" },
      { name: "r1", kind: "rabbitmq", adminUrl: "http://127.0.0.1:15672" },
      { name: "r1", kind: "rabbitmq", adminUrl: "http://user:pw@127.0.0.1:15672", adminUsername: "a", adminPassword: "password-1" },
      { name: "m1", kind: "mosquitto", adminUrl: "http://127.0.0.1:1", adminUsername: "a", adminPassword: "password-1" },
      { name: "r1", kind: "rabbitmq", adminUrl: "http://127.0.0.1:15672", adminUsername: "a", adminPassword: "short" },
    ];
    for (const body of bad) {
      const res = await api(server.url, admin, "POST", "/api/v1/brokers", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    // An admin user named like a device: the backend could not tell them apart by name.
    expect((await api(server.url, admin, "POST", "/api/v1/devices", { name: "gateway-9" })).status).toBe(201);
    const clash = await api(server.url, admin, "POST", "/api/v1/brokers", { name: "r1", kind: "rabbitmq", adminUrl: "http://127.0.0.1:15672", adminUsername: "gateway-9", adminPassword: "password-1" });
    expect(clash.status).toBe(409);
    expect((await api(server.url, admin, "GET", "/api/v1/brokers")).data.items).toEqual([]);
    expect((await api(server.url, viewer, "POST", "/api/v1/brokers", { name: "r1", kind: "rabbitmq" })).status).toBe(403);

    const created = await api(server.url, admin, "POST", "/api/v1/brokers", { name: "rabbit-1", kind: "rabbitmq", adminUrl: "http://127.0.0.1:15672", adminUsername: "cf-admin", adminPassword: "password-123" });
    expect(created.status).toBe(201);
    const secret = created.data.authUrl.split("/").pop();
    expect(created.data).toMatchObject({ name: "rabbit-1", kind: "rabbitmq", canCloseSessions: true, hasAdminPassword: true });
    expect((await api(server.url, admin, "POST", "/api/v1/brokers", { name: "rabbit-1", kind: "emqx" })).status).toBe(409);
    const read = await api(server.url, viewer, "GET", `/api/v1/brokers/${created.data.id}`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.data)).not.toContain(secret);
    expect(JSON.stringify(read.data)).not.toContain("password-123");
    // The auth URL answers; a rotated secret replaces it at once.
    expect(await (await fetch(`${created.data.authUrl}/user?username=nobody`)).text()).toBe("deny");
    const rotated = await api(server.url, admin, "PATCH", `/api/v1/brokers/${created.data.id}`, { rotateSecret: true });
    expect(rotated.status).toBe(200);
    expect(rotated.data.authUrl).not.toBe(created.data.authUrl);
    expect((await fetch(`${created.data.authUrl}/user?username=nobody`)).status).toBe(404);
    expect((await fetch(`${rotated.data.authUrl}/synced`)).status).toBe(200);
    expect((await api(server.url, admin, "GET", `/api/v1/brokers/${created.data.id}`)).data.lastSyncAt).toBeTruthy();
    await api(server.url, admin, "POST", "/api/v1/brokers", { name: "mosq-1", kind: "mosquitto" });

    const openapi = await api(server.url, null, "GET", "/api/v1/openapi.json");
    for (const path of ["/api/v1/brokers", "/api/v1/brokers/{id}", "/api/v1/devices/{id}/topic-policy", "/api/v1/tags/{id}/topic-policy"]) expect(openapi.data.paths[path], path).toBeTruthy();
    expect(openapi.data.paths["/api/v1/devices/{id}/topic-policy"].put).toBeTruthy();
  });

  it("shows the Brokers page, the overview health card and the device page's MQTT access card", async () => {
    const device = await api(server.url, admin, "POST", "/api/v1/devices", { name: "pump-7" });
    const browser = new Browser(server.url);
    expect(await browser.signIn("admin@test.local", "admin-password-1")).toBeNull();
    const page = async (path: string) => {
      const res = await browser.fetch(path);
      expect(res.status, path).toBe(200);
      return res.text();
    };
    const brokers = await page("/brokers");
    expect(brokers).toContain("rabbit-1");
    expect(brokers).toContain("Register broker");
    expect(brokers).toContain("No session closing");
    const overview = await page("/");
    expect(overview).toContain('data-testid="broker-health"');
    expect(overview).toContain("rabbit-1");
    const devicePage = await page(`/devices/${device.data.id}`);
    expect(devicePage).toContain("MQTT access");
    expect(devicePage).toContain("devices/{name}/#");
    expect(devicePage).toMatch(/Mosquitto.*\(mosq-1\)/s);
  });
});

// Several instances share one database only on PostgreSQL (SQLite is one process's file).
describe.each(testProviders().filter((p) => p === "postgresql"))("the auth backend on two instances (%s)", (provider) => {
  let a: TestServer;
  let b: TestServer;
  let admin: string;
  beforeAll(async () => {
    a = await startServer(provider);
    b = await launchServer(a.database, { CERTFLEET_PUBLIC_URL: a.env.CERTFLEET_PUBLIC_URL });
    admin = execFileSync(process.execPath, ["cli/bin.mjs", "token", "create", "--name", "admin-1", "--role", "admin"], { env: { ...process.env, ...a.env }, encoding: "utf8" }).trim();
  });
  afterAll(async () => {
    await b?.kill();
    await a?.stop();
  });

  it("follows a revoke and a disable made on the other instance within about a second", async () => {
    const created = await api(a.url, admin, "POST", "/api/v1/brokers", { name: "rabbit-1", kind: "rabbitmq" });
    expect(created.status).toBe(201);
    const onSecond = created.data.authUrl.replace(a.url, b.url);
    const ask = async (username: string) => (await fetch(`${onSecond}/user?username=${username}`)).text();
    const enroll = async (name: string) => {
      const device = await api(a.url, admin, "POST", "/api/v1/devices", { name });
      const issued = await api(a.url, admin, "POST", `/api/v1/devices/${device.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
      expect(issued.status).toBe(201);
      return { id: device.data.id as string, certId: issued.data.certificate.id as string };
    };
    const [revokeMe, disableMe] = [await enroll("valve-1"), await enroll("valve-2")];
    // Both answered (and cached) on the second instance, then changed through the first.
    expect(await ask("valve-1")).toBe("allow");
    expect(await ask("valve-2")).toBe("allow");
    expect((await api(a.url, admin, "POST", `/api/v1/certificates/${revokeMe.certId}/revoke`, { reason: "keyCompromise" })).status).toBe(200);
    expect((await api(a.url, admin, "PATCH", `/api/v1/devices/${disableMe.id}`, { status: "disabled" })).status).toBe(200);
    const until = async (name: string) => {
      const deadline = Date.now() + 10_000;
      while ((await ask(name)) !== "deny") {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 100));
      }
      return true;
    };
    expect(await until("valve-1")).toBe(true);
    expect(await until("valve-2")).toBe(true);
  });
});
