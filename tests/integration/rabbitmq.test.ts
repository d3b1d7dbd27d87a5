// RabbitMQ (MQTT plugin) as a second real broker: the CertFleet server issues and revokes, the
// node's listener uses the configuration `certfleet broker-config --broker rabbitmq` generates
// (mTLS, CRL fetched from each certificate's distribution point, CertFleet as HTTP auth backend,
// management API for closing sessions), and mosquitto_pub / mosquitto_sub are the devices.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { startServer, type TestServer } from "../helpers/server";
import { BROKER_HOST, MOSQUITTO_PUB_BIN, freePort } from "../helpers/mosquitto";
import { startRabbitmq, type RunningRabbitmq } from "../helpers/rabbitmq";
import { api } from "../helpers/http";
import { Workdir } from "../helpers/openssl";
import { generateRabbitmqFiles } from "@/lib/broker/config";

const SUB_BIN = MOSQUITTO_PUB_BIN.replace(/mosquitto_pub$/, "mosquitto_sub");

async function eventually(check: () => Promise<boolean>, timeoutMs: number, stepMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

describe("RabbitMQ with mTLS + CRL, CertFleet as auth backend, and live-session revocation", () => {
  let server: TestServer;
  let rabbit: RunningRabbitmq;
  let work: Workdir;
  let token: string;
  let mqttPort: number;
  let managementPort: number;
  let authUrl: string;
  const adminUser = "certfleet-admin";
  const adminPassword = randomBytes(18).toString("base64url");
  const devices: Record<string, { id: string; certId: string }> = {};
  const subscribers: ChildProcess[] = [];

  const env = () => ({ ...process.env, ...server.env });
  const tls = (name: string) => ["-h", BROKER_HOST, "-p", String(mqttPort), "--cafile", work.path("broker/ca-chain.pem"), "--cert", work.path(`${name}.pem`), "--key", work.path(`${name}.key`)];
  const pub = (name: string, topic: string, clientId = `${name}-pub-${randomBytes(3).toString("hex")}`) =>
    new Promise<{ code: number; output: string }>((resolve) => {
      const child = spawn(MOSQUITTO_PUB_BIN, [...tls(name), "-t", topic, "-m", "hello", "-q", "1", "-i", clientId], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (c: Buffer) => (output += c));
      child.stderr.on("data", (c: Buffer) => (output += c));
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), output });
      });
    });
  /** A long-running subscriber (-d: it prints each CONNECT it sends, so reconnects show). */
  const subscribe = (name: string, topic: string) => {
    const child = spawn(SUB_BIN, [...tls(name), "-t", topic, "-q", "1", "-i", `${name}-sub`, "-d", "-v"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (c: Buffer) => (output += c));
    child.stderr!.on("data", (c: Buffer) => (output += c));
    subscribers.push(child);
    return { child, output: () => output };
  };
  const management = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${managementPort}${path}`, { headers: { authorization: `Basic ${Buffer.from(`${adminUser}:${adminPassword}`).toString("base64")}` } });
    expect(res.status, `${path}: ${res.status}`).toBe(200);
    return (await res.json()) as { name: string; user: string }[];
  };
  const connectionsOf = async (name: string) => (await management(`/api/connections/username/${encodeURIComponent(name)}`)).filter((c) => c.user === name);
  const ask = async (what: string, params: Record<string, string>) => (await fetch(`${authUrl}/${what}?${new URLSearchParams(params)}`)).text();

  async function enroll(name: string, extra: Record<string, unknown> = {}) {
    const device = await api(server.url, token, "POST", "/api/v1/devices", { name });
    expect(device.status).toBe(201);
    const issued = await api(server.url, token, "POST", `/api/v1/devices/${device.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" }, ...extra });
    expect(issued.status).toBe(201);
    work.file(`${name}.pem`, issued.data.certificatePem);
    work.file(`${name}.key`, issued.data.privateKeyPem);
    devices[name] = { id: device.data.id, certId: issued.data.certificate.id };
  }

  beforeAll(async () => {
    server = await startServer("sqlite");
    token = execFileSync(process.execPath, ["cli/bin.mjs", "token", "create", "--name", "ops", "--role", "admin"], { env: env(), encoding: "utf8" }).trim();
    work = new Workdir();
    mkdirSync(work.path("broker"));
    for (const name of ["sensor-1", "sensor-2", "sensor-3", "sensor-4", "sensor-5"]) await enroll(name);
    await enroll("rabbit-1", { profile: "broker-server", sans: { ip: [BROKER_HOST] } });
    const synced = spawnSync(process.execPath, ["cli/bin.mjs", "broker-sync", "--url", server.url, "--out", work.path("broker"), "--format", "rabbitmq", "--once", "--allow-http"], { env: env(), encoding: "utf8" });
    expect(synced.status, synced.stderr).toBe(0);

    mqttPort = await freePort();
    managementPort = await freePort();
    const registered = await api(server.url, token, "POST", "/api/v1/brokers", {
      name: "rabbit-1",
      kind: "rabbitmq",
      adminUrl: `http://127.0.0.1:${managementPort}`,
      adminUsername: adminUser,
      adminPassword,
    });
    expect(registered.status, JSON.stringify(registered.data)).toBe(201);
    authUrl = registered.data.authUrl;
    expect(authUrl).toMatch(new RegExp(`^${server.url}/broker-auth/[A-Za-z0-9_-]{43}$`));
    // Stored hashed and sealed: neither the secret nor the password is in any later answer.
    const listed = await api(server.url, token, "GET", "/api/v1/brokers");
    expect(JSON.stringify(listed.data)).not.toContain(authUrl.split("/").pop()!);
    expect(JSON.stringify(listed.data)).not.toContain(adminPassword);

    // broker-sync reports its runs for the broker's health (the URL comes from the environment: it holds the secret).
    const reported = spawnSync(process.execPath, ["cli/bin.mjs", "broker-sync", "--url", server.url, "--out", work.path("broker"), "--format", "rabbitmq", "--once", "--allow-http"], {
      env: { ...env(), CERTFLEET_BROKER_AUTH_URL: authUrl },
      encoding: "utf8",
    });
    expect(reported.status, reported.stderr).toBe(0);
    expect(reported.stderr).not.toContain(authUrl.split("/").pop()!);

    const files = generateRabbitmqFiles({
      url: server.url,
      dir: work.path("broker"),
      bind: BROKER_HOST,
      mtlsPort: mqttPort,
      serverCertFile: work.path("rabbit-1.pem"),
      serverKeyFile: work.path("rabbit-1.key"),
      crlMode: "cdp",
      authUrl,
      managementPort,
    });
    rabbit = await startRabbitmq(files, work.path("node"), [
      [BROKER_HOST, mqttPort],
      ["127.0.0.1", managementPort],
    ]);
  }, 300_000);

  afterAll(async () => {
    for (const s of subscribers) if (s.exitCode === null) s.kill("SIGKILL");
    await rabbit?.stop();
    work?.dispose();
    await server?.stop();
  }, 120_000);

  it("lets a valid device connect and publish on its own topic (delivered), and refuses a foreign topic", async () => {
    const sub = subscribe("sensor-1", "devices/sensor-1/#");
    expect(await eventually(async () => (await connectionsOf("sensor-1")).length > 0, 20_000)).toBe(true);
    const own = await pub("sensor-1", "devices/sensor-1/temp");
    expect(own.code, own.output).toBe(0);
    expect(await eventually(async () => sub.output().includes("devices/sensor-1/temp hello"), 10_000)).toBe(true);

    const foreign = await pub("sensor-1", "devices/sensor-2/temp");
    expect(foreign.code).not.toBe(0);
    // The backend's own answers, in the shape RabbitMQ asked them (recorded from the 3.10 node):
    // the routing key is the MQTT topic with "/" as ".".
    const base = { username: "sensor-1", vhost: "/", resource: "topic", name: "amq.topic", tags: "" };
    expect(await ask("topic", { ...base, permission: "write", routing_key: "devices.sensor-1.temp", "variable_map.client_id": "x" })).toBe("allow");
    expect(await ask("topic", { ...base, permission: "write", routing_key: "devices.sensor-2.temp" })).toBe("deny");
    expect(await ask("topic", { ...base, permission: "read", routing_key: "devices.#" })).toBe("deny");
    expect(await ask("user", { username: "sensor-1" })).toBe("allow");
    expect(await ask("user", { username: "no-such-device" })).toBe("deny");
    // The management admin only with its password; a certificate named like it gets nothing.
    expect(await ask("user", { username: adminUser, password: adminPassword })).toBe("allow administrator");
    expect(await ask("user", { username: adminUser, password: "wrong-password" })).toBe("deny");
    expect(await ask("user", { username: adminUser })).toBe("deny");
    expect((await fetch(`${server.url}/broker-auth/${"x".repeat(43)}/user?username=sensor-1`)).status).toBe(404);

    // A per-device topic policy, set over REST, is followed at once.
    const policy = await api(server.url, token, "PUT", `/api/v1/devices/${devices["sensor-1"].id}/topic-policy`, { publish: ["factory/+/{name}"], subscribe: ["factory/#"] });
    expect(policy.status, JSON.stringify(policy.data)).toBe(200);
    expect((await pub("sensor-1", "factory/line-3/sensor-1")).code).toBe(0);
    expect((await pub("sensor-1", "devices/sensor-1/temp")).code).not.toBe(0);
    const bad = await api(server.url, token, "PUT", `/api/v1/devices/${devices["sensor-1"].id}/topic-policy`, { publish: ["a/#/b"], subscribe: [] });
    expect(bad.status).toBe(400);
    expect((await api(server.url, token, "GET", `/api/v1/devices/${devices["sensor-1"].id}/topic-policy`)).data.publish).toEqual(["factory/+/{name}"]);
    sub.child.kill("SIGTERM");
  });

  it("refuses a revoked device at the handshake (CRL from the distribution point)", async () => {
    expect((await pub("sensor-3", "devices/sensor-3/t")).code).toBe(0);
    const revoked = await api(server.url, token, "POST", `/api/v1/certificates/${devices["sensor-3"].certId}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    // The auth backend refuses it at once; the TLS handshake too once the CRL is re-signed (about a
    // second): OTP fetched the CRL from the certificate's distribution point and sent the alert.
    expect((await pub("sensor-3", "devices/sensor-3/t")).code).not.toBe(0);
    expect(
      await eventually(async () => (await pub("sensor-3", "devices/sensor-3/t")).code !== 0 && /SERVER ALERT: Fatal - Certificate Revoked/.test(rabbit.logs()), 15_000, 500),
    ).toBe(true);
    expect((await pub("sensor-5", "devices/sensor-5/t")).code).toBe(0);
  });

  it("disconnects a device within 10 s when its certificate is revoked while it is connected", async () => {
    const sub = subscribe("sensor-2", "devices/sensor-2/#");
    expect(await eventually(async () => (await connectionsOf("sensor-2")).length > 0, 20_000)).toBe(true);
    const before = (await api(server.url, token, "GET", "/api/v1/brokers")).data.items[0];
    const revoked = await api(server.url, token, "POST", `/api/v1/certificates/${devices["sensor-2"].certId}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    const started = Date.now();
    expect(await eventually(async () => (await connectionsOf("sensor-2")).length === 0, 10_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    // It tries again (mosquitto_sub reconnects) and stays out.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await connectionsOf("sensor-2")).toEqual([]);
    const after = (await api(server.url, token, "GET", "/api/v1/brokers")).data.items[0];
    expect(after.kickCount).toBeGreaterThan(before.kickCount);
    expect(after.lastKickAt).toBeTruthy();
    expect(after.lastKickError).toBeNull();
    expect(after.lastSyncAt).toBeTruthy();
    sub.child.kill("SIGTERM");
  });

  it("disconnects a decommissioned device and a disabled one, and neither can reconnect", async () => {
    const four = subscribe("sensor-4", "devices/sensor-4/#");
    const five = subscribe("sensor-5", "devices/sensor-5/#");
    expect(await eventually(async () => (await connectionsOf("sensor-4")).length > 0 && (await connectionsOf("sensor-5")).length > 0, 20_000)).toBe(true);

    expect((await api(server.url, token, "DELETE", `/api/v1/devices/${devices["sensor-4"].id}`)).status).toBe(200);
    // Disabled: the certificate stays valid (not on the CRL); the auth backend refuses it.
    expect((await api(server.url, token, "PATCH", `/api/v1/devices/${devices["sensor-5"].id}`, { status: "disabled" })).status).toBe(200);
    expect(await eventually(async () => (await connectionsOf("sensor-4")).length === 0 && (await connectionsOf("sensor-5")).length === 0, 10_000)).toBe(true);
    expect((await pub("sensor-4", "devices/sensor-4/t")).code).not.toBe(0);
    expect((await pub("sensor-5", "devices/sensor-5/t")).code).not.toBe(0);
    expect(await ask("user", { username: "sensor-5" })).toBe("deny");

    // Enabled again: in at once (no cached refusal outlives a second).
    expect((await api(server.url, token, "PATCH", `/api/v1/devices/${devices["sensor-5"].id}`, { status: "active" })).status).toBe(200);
    expect(await eventually(async () => (await pub("sensor-5", "devices/sensor-5/t")).code === 0, 5_000, 300)).toBe(true);
    four.child.kill("SIGTERM");
    five.child.kill("SIGTERM");
  });
});
