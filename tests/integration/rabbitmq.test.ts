// RabbitMQ (MQTT plugin) as a second real broker: the CertFleet server issues and revokes, the
// node's listener uses the configuration `certfleet broker-config --broker rabbitmq` generates
// (mTLS, CRL fetched from each certificate's distribution point, CertFleet as HTTP auth backend,
// management API for closing sessions), and mosquitto_pub / mosquitto_sub are the devices.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../helpers/server";
import { startRabbitmqFleet, type RabbitmqFleet } from "../helpers/rabbitmq";
import { api } from "../helpers/http";

async function eventually(check: () => Promise<boolean>, timeoutMs: number, stepMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

describe("RabbitMQ with mTLS + CRL, CertFleet as auth backend, and live-session revocation", () => {
  let fleet: RabbitmqFleet;
  let server: TestServer;
  let token: string;
  let authUrl: string;
  let adminUser: string;
  let adminPassword: string;
  let devices: RabbitmqFleet["devices"];
  const pub = (name: string, topic: string) => fleet.pub(name, topic);
  const subscribe = (name: string, topic: string) => fleet.subscribe(name, topic);
  const connectionsOf = (name: string) => fleet.connectionsOf(name);
  const ask = async (what: string, params: Record<string, string>) => (await fetch(`${authUrl}/${what}?${new URLSearchParams(params)}`)).text();

  beforeAll(async () => {
    fleet = await startRabbitmqFleet(["sensor-1", "sensor-2", "sensor-3", "sensor-4", "sensor-5"]);
    ({ server, token, authUrl, adminUser, adminPassword, devices } = fleet);
    expect(authUrl).toMatch(new RegExp(`^${server.url}/broker-auth/[A-Za-z0-9_-]{43}$`));
    // Stored hashed and sealed: neither the secret nor the password is in any later answer.
    const listed = await api(server.url, token, "GET", "/api/v1/brokers");
    expect(JSON.stringify(listed.data)).not.toContain(authUrl.split("/").pop()!);
    expect(JSON.stringify(listed.data)).not.toContain(adminPassword);
  }, 300_000);

  afterAll(async () => {
    await fleet?.stop();
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
      await eventually(async () => (await pub("sensor-3", "devices/sensor-3/t")).code !== 0 && /SERVER ALERT: Fatal - Certificate Revoked/.test(fleet.rabbit.logs()), 15_000, 500),
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

describe("RabbitMQ with the CRL from broker-sync's hash directory", () => {
  let fleet: RabbitmqFleet;
  beforeAll(async () => {
    fleet = await startRabbitmqFleet(["meter-1", "meter-2"], { crlMode: "hash-dir" });
  }, 300_000);
  afterAll(async () => {
    await fleet?.stop();
  }, 120_000);

  it("refuses a device at the handshake once broker-sync replaced the CRL file, without a restart", async () => {
    expect((await fleet.pub("meter-1", "devices/meter-1/t")).code).toBe(0);
    const revoked = await api(fleet.server.url, fleet.token, "POST", `/api/v1/certificates/${fleet.devices["meter-1"].certId}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    // broker-sync until the re-signed CRL is installed (about a second), then the TLS alert.
    expect(
      await eventually(async () => {
        fleet.sync();
        return (await fleet.pub("meter-1", "devices/meter-1/t")).code !== 0 && /SERVER ALERT: Fatal - Certificate Revoked/.test(fleet.rabbit.logs());
      }, 20_000, 500),
    ).toBe(true);
    expect((await fleet.pub("meter-2", "devices/meter-2/t")).code).toBe(0);
  });
});
