// The whole chain a broker depends on, with real parts: the CertFleet server issues and revokes,
// `certfleet broker-sync` (the CLI, as a process) keeps a real Mosquitto's cafile and crlfile
// current and SIGHUPs it, and mosquitto_pub connects with the devices' certificates.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { startServer, type TestServer } from "../helpers/server";
import { BROKER_HOST, freePort, mosquittoPub, startMosquitto, type RunningMosquitto } from "../helpers/mosquitto";
import { api } from "../helpers/http";
import { Workdir } from "../helpers/openssl";

describe("Mosquitto with mTLS and a CRL kept by broker-sync", () => {
  let server: TestServer;
  let broker: RunningMosquitto;
  let work: Workdir;
  let token: string;
  let port: number;
  const certIds: Record<string, string> = {};

  const env = () => ({ ...process.env, ...server.env });
  const sync = () =>
    spawnSync(process.execPath, ["cli/bin.mjs", "broker-sync", "--url", server.url, "--out", work.path("broker"), "--format", "mosquitto", "--no-psk", "--once", "--allow-http", ...(broker ? ["--reload-pid", String(broker.pid)] : [])], { env: env(), encoding: "utf8" });
  // Devices trust the broker through the same CA chain broker-sync installs.
  const pub = (name: string) => mosquittoPub({ host: BROKER_HOST, port, cafile: work.path("broker/ca-chain.pem"), cert: work.path(`${name}.pem`), key: work.path(`${name}.key`) });

  async function enroll(name: string, extra: Record<string, unknown> = {}) {
    const device = await api(server.url, token, "POST", "/api/v1/devices", { name });
    const issued = await api(server.url, token, "POST", `/api/v1/devices/${device.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" }, ...extra });
    expect(issued.status).toBe(201);
    work.file(`${name}.pem`, issued.data.certificatePem);
    work.file(`${name}.key`, issued.data.privateKeyPem);
    certIds[name] = issued.data.certificate.id;
  }

  beforeAll(async () => {
    server = await startServer("sqlite");
    token = execFileSync(process.execPath, ["cli/bin.mjs", "token", "create", "--name", "ops", "--role", "operator"], { env: env(), encoding: "utf8" }).trim();
    work = new Workdir();
    mkdirSync(work.path("broker"));
    await enroll("sensor-1");
    await enroll("sensor-2");
    // The broker's own identity: a broker-server certificate from CertFleet for the address devices dial.
    await enroll("broker-1", { profile: "broker-server", sans: { ip: [BROKER_HOST], dns: ["mqtt.test"] } });
    const first = sync();
    expect(first.status, first.stderr).toBe(0);
    port = await freePort();
    broker = await startMosquitto(
      [
        `listener ${port} ${BROKER_HOST}`,
        `cafile ${work.path("broker/ca-chain.pem")}`,
        `certfile ${work.path("broker-1.pem")}`,
        `keyfile ${work.path("broker-1.key")}`,
        "require_certificate true",
        "use_identity_as_username true",
        `crlfile ${work.path("broker/crl.pem")}`,
        "allow_anonymous true",
      ].join("\n") + "\n",
      work.dir,
      [port],
      10_000,
      BROKER_HOST,
    );
  });
  afterAll(async () => {
    await broker?.stop();
    work?.dispose();
    await server?.stop();
  });

  it("accepts enrolled devices, and refuses a revoked one within 10 s of broker-sync while others connect", async () => {
    expect(readFileSync(work.path("broker/crl.pem"), "utf8")).toMatch(/BEGIN X509 CRL/);
    expect((await pub("sensor-1")).code).toBe(0);
    expect((await pub("sensor-2")).code).toBe(0);

    const revoked = await api(server.url, token, "POST", `/api/v1/certificates/${certIds["sensor-1"]}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    const started = Date.now();
    let refused = false;
    while (Date.now() - started < 10_000) {
      const r = sync();
      expect(r.status, r.stderr).toBe(0);
      if ((await pub("sensor-1")).code !== 0) {
        refused = true;
        break;
      }
      await new Promise((res) => setTimeout(res, 300));
    }
    expect(refused).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await pub("sensor-2")).code).toBe(0);
  });
});
