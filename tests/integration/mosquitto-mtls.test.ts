// The whole chain a broker depends on, with real parts: the CertFleet server issues and revokes,
// `certfleet broker-sync` (the CLI, as a process) keeps a real Mosquitto's cafile and crlfile
// current and SIGHUPs it, and mosquitto_pub connects with the devices' certificates.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { startServer, type TestServer } from "../helpers/server";
import { freePort, mosquittoPub, startMosquitto, type RunningMosquitto } from "../helpers/mosquitto";
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
    spawnSync(process.execPath, ["cli/bin.mjs", "broker-sync", "--url", server.url, "--out", work.path("broker"), "--format", "mosquitto", "--no-psk", "--once", ...(broker ? ["--reload-pid", String(broker.pid)] : [])], { env: env(), encoding: "utf8" });
  // The broker's own TLS identity is a throwaway self-signed certificate: clients trust it directly.
  const pub = (name: string) => mosquittoPub({ port, cafile: work.path("srv.pem"), cert: work.path(`${name}.pem`), key: work.path(`${name}.key`) });

  async function enroll(name: string) {
    const device = await api(server.url, token, "POST", "/api/v1/devices", { name });
    const issued = await api(server.url, token, "POST", `/api/v1/devices/${device.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
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
    const first = sync();
    expect(first.status, first.stderr).toBe(0);
    port = await freePort();
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "srv.key", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2", "-out", "srv.pem"]);
    broker = await startMosquitto(
      [
        `listener ${port} 127.0.0.1`,
        `cafile ${work.path("broker/ca-chain.pem")}`,
        `certfile ${work.path("srv.pem")}`,
        `keyfile ${work.path("srv.key")}`,
        "require_certificate true",
        "use_identity_as_username true",
        `crlfile ${work.path("broker/crl.pem")}`,
        "allow_anonymous true",
      ].join("\n") + "\n",
      work.dir,
      [port],
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
