// EST (RFC 7030) against the real server with real clients: strongSwan's `pki --est/--estca`
// for enrollment with a one-time secret and re-enrollment with the old certificate, curl +
// OpenSSL for the CA certificates, bootstrap (manufacturer CA made by openssl) enrollment and
// every refusal; the issued certificates verify with `openssl verify` and connect to a real
// Mosquitto mTLS listener. Row counts before/after prove a refusal stores nothing but its audit event.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { testProviders } from "../helpers/databases";
import { startServer, type TestServer } from "../helpers/server";
import { BROKER_HOST, freePort, mosquittoPub, startMosquitto, type RunningMosquitto } from "../helpers/mosquitto";
import { api } from "../helpers/http";
import { Workdir } from "../helpers/openssl";
import { db, disconnectDb, transaction } from "@/lib/db";
import { resetConfigForTests } from "@/lib/config";
import { resetSecretsForTests } from "@/lib/secrets";
import { fixedClock, parseCsr } from "@/lib/pki";
import { signDeviceCertificate } from "@/lib/services/certificates";
import { issuedItem, recordIssuedInTx } from "@/lib/services/issuance";

const PKI = "/usr/bin/pki";

describe.each(testProviders())("EST on %s", (provider) => {
  let server: TestServer;
  let work: Workdir;
  let operator: string;
  let admin: string;
  let estUrl: string;

  const env = () => ({ ...process.env, ...server.env });
  const cli = (...args: string[]) => execFileSync(process.execPath, ["cli/bin.mjs", ...args], { env: env(), encoding: "utf8" }).trim();

  /** One EST request with curl; `body` is a file in the workdir. */
  function curl(path: string, options: { body?: string; user?: string; cert?: string; key?: string; base?: string; method?: string } = {}) {
    const out = work.path(`resp-${randomBytes(4).toString("hex")}`);
    const args = ["-s", "-o", out, "-D", `${out}.h`, "-w", "%{http_code}", "--cacert", work.path("chain.pem")];
    if (options.body) args.push("-H", "content-type: application/pkcs10", "--data-binary", `@${work.path(options.body)}`);
    if (options.method) args.push("-X", options.method);
    if (options.user) args.push("--user", options.user);
    if (options.cert) args.push("--cert", work.path(options.cert), "--key", work.path(options.key!));
    args.push(`${options.base ?? estUrl}${path}`);
    const r = spawnSync("curl", args, { encoding: "utf8", timeout: 30_000 });
    return { status: Number(r.stdout), body: readFileSync(out, "utf8"), headers: readFileSync(`${out}.h`, "utf8").toLowerCase() };
  }

  /** A fresh EC P-256 key and a CSR for `subject`, base64 DER (what EST carries) in NAME.b64, DER in NAME.der. */
  function csr(name: string, subject: string) {
    work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-subj", subject, "-outform", "DER", "-out", `${name}.der`]);
    const der = work.read(`${name}.der`);
    work.file(`${name}.b64`, der.toString("base64").replace(/.{64}/g, "$&\n"));
    return der;
  }

  /** base64 certs-only CMS → PEM certificates, through `openssl pkcs7 -print_certs`. */
  function printCerts(base64: string) {
    const f = work.file(`p7-${randomBytes(4).toString("hex")}.der`, Buffer.from(base64, "base64"));
    return work.ok(["pkcs7", "-inform", "DER", "-in", f, "-print_certs"]);
  }

  const counts = async () => ({
    certificates: await db().certificate.count(),
    usedSecrets: await db().enrollmentSecret.count({ where: { usedAt: { not: null } } }),
    devices: await db().device.count(),
    deviceTags: await db().deviceTag.count(),
    audit: await db().auditEvent.count(),
  });

  async function expectRefusal(result: { status: number; body: string; headers: string }, status: number, before: Awaited<ReturnType<typeof counts>>, audited = true) {
    expect(result.status, result.body).toBe(status);
    const after = await counts();
    expect({ ...after, audit: 0 }).toEqual({ ...before, audit: 0 });
    expect(after.audit).toBe(before.audit + (audited ? 1 : 0));
    if (audited) {
      const last = await db().auditEvent.findFirst({ orderBy: { seq: "desc" } });
      expect(last?.action).toBe("est.refuse");
      expect(JSON.parse(last!.details).status).toBe(status);
    }
  }

  async function newDevice(name: string) {
    const device = await api(server.url, operator, "POST", "/api/v1/devices", { name });
    expect(device.status).toBe(201);
    return device.data.id as string;
  }

  async function secretFor(deviceId: string, body: unknown = {}) {
    const secret = await api(server.url, operator, "POST", `/api/v1/devices/${deviceId}/enrollment`, body);
    expect(secret.status, JSON.stringify(secret.data)).toBe(201);
    return secret.data as { username: string; password: string; expiresAt: string; estUrl: string };
  }

  function pkiEst(args: string[]) {
    // strongSwan appends /.well-known/est/<operation> to the URL itself.
    const r = spawnSync(PKI, ["--est", "--url", server.httpsUrl, "--cacert", work.path("root.pem"), "--cacert", work.path("issuing.pem"), "--outform", "pem", ...args], { encoding: "utf8", timeout: 30_000, cwd: work.dir });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  beforeAll(async () => {
    server = await startServer(provider);
    // The test reads the server's database directly for the row counts.
    process.env.DATABASE_URL = server.database.url;
    process.env.CERTFLEET_DATA_DIR = server.database.dataDir;
    resetConfigForTests();
    // The test signs a backdated certificate with this server's CA key, sealed under its master key.
    resetSecretsForTests();
    await disconnectDb();
    operator = cli("token", "create", "--name", "ops", "--role", "operator");
    admin = cli("token", "create", "--name", "adm", "--role", "admin");
    work = new Workdir();
    const chain = await fetch(`${server.url}/pki/ca/issuing-1/chain.pem`).then((r) => r.text());
    work.file("chain.pem", chain);
    work.file("issuing.pem", chain.slice(0, chain.indexOf("-----END CERTIFICATE-----") + 26));
    work.file("root.pem", chain.slice(chain.indexOf("-----END CERTIFICATE-----") + 26).trimStart());
    estUrl = `${server.httpsUrl}/.well-known/est/`;
  });
  afterAll(async () => {
    await disconnectDb();
    work?.dispose();
    await server?.stop();
  });

  it("serves cacerts as base64 certs-only CMS (openssl pkcs7, strongSwan pki --estca) and csrattrs", async () => {
    const r = curl("cacerts");
    expect(r.status).toBe(200);
    expect(r.headers).toContain("content-type: application/pkcs7-mime");
    const certs = printCerts(r.body);
    expect(certs.match(/subject=.*/g)?.map((line) => /CN = ([^,]+)/.exec(line)![1])).toEqual(["CertFleet Issuing CA 1", "CertFleet Root CA"]);
    // The labelled form names the same CA (RFC 7030 3.2.2).
    expect(printCerts(curl("issuing-1/cacerts").body)).toBe(certs);
    expect(curl("no-such-ca/cacerts").status).toBe(404);

    const est = spawnSync(PKI, ["--estca", "--url", server.httpsUrl, "--cacert", work.path("root.pem"), "--cacert", work.path("issuing.pem"), "--caout", work.path("estca.pem"), "--outform", "pem", "--force"], { encoding: "utf8", cwd: work.dir });
    expect(est.status, est.stderr + est.stdout).toBe(0);
    const fetched = execFileSync("sh", ["-c", `cat ${work.dir}/estca*.pem`], { encoding: "utf8" });
    expect(fetched.match(/BEGIN CERTIFICATE/g)?.length).toBe(2);

    const attrs = curl("csrattrs");
    expect(attrs.status).toBe(200);
    expect(attrs.headers).toContain("content-type: application/csrattrs");
    const parsed = work.ok(["asn1parse", "-inform", "DER", "-in", work.file("attrs.der", Buffer.from(attrs.body, "base64"))]);
    expect(parsed).toMatch(/id-ecPublicKey/);
    expect(parsed).toMatch(/prime256v1/);
    expect(parsed).toMatch(/rsaEncryption/);
  });

  it("refuses EST over plain HTTP, and leaves /pki and /api to clients without a certificate", async () => {
    const plain = await fetch(`${server.url}/.well-known/est/cacerts`);
    expect(plain.status).toBe(403);
    const r = spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", work.path("chain.pem"), `${server.httpsUrl}/pki/chain.pem`], { encoding: "utf8" });
    expect(r.stdout).toBe("200");
    const health = spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", work.path("chain.pem"), "-H", `authorization: Bearer ${operator}`, `${server.httpsUrl}/api/v1/cas`], { encoding: "utf8" });
    expect(health.stdout).toBe("200");
  });

  it("enrolls with a one-time secret (strongSwan pki --est), re-enrolls with the old certificate, and both connect to Mosquitto", async () => {
    const deviceId = await newDevice("est-sensor-1");
    const secret = await secretFor(deviceId);
    expect(secret.username).toBe("est-sensor-1");
    expect(secret.password.length).toBeGreaterThanOrEqual(22);
    expect(new Date(secret.expiresAt).getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expect(secret.estUrl).toMatch(/^https:\/\/.*\/\.well-known\/est\/$/);
    // Only the hash is stored.
    const stored = await db().enrollmentSecret.findFirstOrThrow({ where: { deviceId } });
    expect(stored.secretHash).not.toContain(secret.password);
    expect(JSON.stringify(await db().auditEvent.findMany({ where: { targetId: deviceId } }))).not.toContain(secret.password);

    csr("first", "/CN=whatever-the-device-says");
    const first = pkiEst(["--in", work.path("first.der"), "--userpass", `${secret.username}:${secret.password}`]);
    expect(first.status, first.stderr + first.stdout).toBe(0);
    work.file("first.pem", first.stdout);
    expect(work.ok(["verify", "-CAfile", work.path("chain.pem"), work.path("first.pem")])).toMatch(/OK/);
    // The subject comes from the device record, not the CSR.
    expect(work.ok(["x509", "-in", work.path("first.pem"), "-noout", "-subject"])).toMatch(/CN = est-sensor-1/);
    const device = await db().device.findUniqueOrThrow({ where: { id: deviceId } });
    expect(device.estEnrolledBy).toBe("secret");
    expect((await db().enrollmentSecret.findFirstOrThrow({ where: { deviceId } })).usedAt).not.toBeNull();

    // The secret is spent.
    const before = await counts();
    const again = pkiEst(["--in", work.path("first.der"), "--userpass", `${secret.username}:${secret.password}`]);
    expect(again.status).not.toBe(0);
    expect((await counts()).certificates).toBe(before.certificates);

    // Re-enrollment: a new key, the certificate's subject, TLS client authentication with the old pair.
    csr("second", "/O=CertFleet/CN=est-sensor-1");
    const oldSerial = work.ok(["x509", "-in", work.path("first.pem"), "-noout", "-serial"]).trim().split("=")[1].toLowerCase();
    const second = pkiEst(["--in", work.path("second.der"), "--cert", work.path("first.pem"), "--key", work.path("first.key")]);
    expect(second.status, second.stderr + second.stdout).toBe(0);
    work.file("second.pem", second.stdout);
    expect(work.ok(["verify", "-CAfile", work.path("chain.pem"), work.path("second.pem")])).toMatch(/OK/);
    const newSerial = work.ok(["x509", "-in", work.path("second.pem"), "-noout", "-serial"]).trim().split("=")[1].toLowerCase();
    expect(newSerial).not.toBe(oldSerial);
    const old = await db().certificate.findFirstOrThrow({ where: { deviceId, serialHex: oldSerial } });
    expect(old.status).toBe("superseded");
    const current = await db().device.findUniqueOrThrow({ where: { id: deviceId } });
    expect(current.currentCertId).toBe(old.supersededById);
    expect(current.estEnrolledBy).toBe("reenroll");
    const renewAudit = await db().auditEvent.findFirst({ where: { targetId: deviceId, action: "certificate.renew" } });
    expect(JSON.parse(renewAudit!.details)).toMatchObject({ via: "est", oldCertificateId: old.id });

    // The superseded certificate cannot re-enroll again.
    const b2 = await counts();
    await expectRefusal(curl("simplereenroll", { body: "second.b64", cert: "first.pem", key: "first.key" }), 403, b2);

    // Both certificates work on a real Mosquitto mTLS listener.
    const broker = await api(server.url, operator, "POST", `/api/v1/devices/${await newDevice("est-broker")}/certificates`, { generateKey: { algorithm: "EC-P256" }, profile: "broker-server", sans: { ip: [BROKER_HOST] } });
    work.file("broker.pem", broker.data.certificatePem);
    work.file("broker.key", broker.data.privateKeyPem);
    const port = await freePort();
    let mosquitto: RunningMosquitto | undefined;
    try {
      mosquitto = await startMosquitto(
        [`listener ${port} ${BROKER_HOST}`, `cafile ${work.path("chain.pem")}`, `certfile ${work.path("broker.pem")}`, `keyfile ${work.path("broker.key")}`, "require_certificate true", "use_identity_as_username true", "allow_anonymous true"].join("\n") + "\n",
        work.dir,
        [port],
        10_000,
        BROKER_HOST,
      );
      expect((await mosquittoPub({ host: BROKER_HOST, port, cafile: work.path("chain.pem"), cert: work.path("second.pem"), key: work.path("second.key") })).code).toBe(0);
      expect((await mosquittoPub({ host: BROKER_HOST, port, cafile: work.path("chain.pem"), cert: work.path("first.pem"), key: work.path("first.key") })).code).toBe(0);
      // A key that does not match the certificate gets nowhere: the listener really checks.
      expect((await mosquittoPub({ host: BROKER_HOST, port, cafile: work.path("chain.pem"), cert: work.path("second.pem"), key: work.path("first.key") })).code).not.toBe(0);
    } finally {
      await mosquitto?.stop();
    }
  });

  it("refuses wrong, used and expired secrets, missing credentials, bad CSRs and oversized bodies, storing nothing", async () => {
    const deviceId = await newDevice("est-refusals");
    csr("r", "/CN=est-refusals");
    let before = await counts();
    // No credentials: 401 with the Basic challenge (not audited: every EST client starts like this).
    const anonymous = curl("simpleenroll", { body: "r.b64" });
    await expectRefusal(anonymous, 401, before, false);
    expect(anonymous.headers).toMatch(/www-authenticate: basic realm="certfleet-est"/);

    const secret = await secretFor(deviceId);
    before = await counts();
    const wrong = curl("simpleenroll", { body: "r.b64", user: `${secret.username}:${secret.password}x` });
    await expectRefusal(wrong, 401, before);
    expect(wrong.headers).toMatch(/www-authenticate: basic/);
    before = await counts();
    await expectRefusal(curl("simpleenroll", { body: "r.b64", user: `someone-else:${secret.password}` }), 401, before);

    // Bad CSRs with a valid secret: 400, and the secret stays unused.
    work.file("garbage.b64", "this is not base64 at all!");
    before = await counts();
    await expectRefusal(curl("simpleenroll", { body: "garbage.b64", user: `${secret.username}:${secret.password}` }), 400, before);
    const tampered = Buffer.from(work.read("r.der"));
    tampered[tampered.length - 5] ^= 0x01;
    work.file("tampered.b64", tampered.toString("base64"));
    before = await counts();
    const bad = curl("simpleenroll", { body: "tampered.b64", user: `${secret.username}:${secret.password}` });
    await expectRefusal(bad, 400, before);
    expect(bad.body).toMatch(/signature/i);
    work.file("big.b64", "A".repeat(1024 * 1024));
    before = await counts();
    await expectRefusal(curl("simpleenroll", { body: "big.b64", user: `${secret.username}:${secret.password}` }), 413, before, false);

    // The secret still works once (the refusals did not spend it), then never again.
    const ok = curl("simpleenroll", { body: "r.b64", user: `${secret.username}:${secret.password}` });
    expect(ok.status, ok.body).toBe(200);
    expect(ok.headers).toContain("content-type: application/pkcs7-mime; smime-type=certs-only");
    work.file("r.pem", printCerts(ok.body));
    expect(work.ok(["verify", "-CAfile", work.path("chain.pem"), work.path("r.pem")])).toMatch(/OK/);
    before = await counts();
    await expectRefusal(curl("simpleenroll", { body: "r.b64", user: `${secret.username}:${secret.password}` }), 401, before);

    // Expired: a secret that lives two seconds.
    const brief = await secretFor(deviceId, { validDays: 2 / 86_400 });
    await new Promise((r) => setTimeout(r, 2500));
    before = await counts();
    await expectRefusal(curl("simpleenroll", { body: "r.b64", user: `${brief.username}:${brief.password}` }), 401, before);

    // Wrong method, unsupported operation; serverkeygen asks for credentials like simpleenroll.
    expect(curl("simpleenroll", { method: "GET" }).status).toBe(405);
    expect(curl("fullcmc", { body: "r.b64" }).status).toBe(501);
    before = await counts();
    await expectRefusal(curl("serverkeygen", { body: "r.b64" }), 401, before, false);
  });

  it("refuses re-enrollment with a revoked, foreign or mismatched certificate, storing nothing", async () => {
    const deviceId = await newDevice("est-reenroll");
    const issued = await api(server.url, operator, "POST", `/api/v1/devices/${deviceId}/certificates`, { generateKey: { algorithm: "EC-P256" } });
    work.file("re.pem", issued.data.certificatePem);
    work.file("re.key", issued.data.privateKeyPem);

    csr("mismatch", "/O=CertFleet/CN=someone-else");
    let before = await counts();
    const mismatch = curl("simplereenroll", { body: "mismatch.b64", cert: "re.pem", key: "re.key" });
    await expectRefusal(mismatch, 400, before);
    expect(mismatch.body).toMatch(/subject/);

    // A certificate from a CA CertFleet does not know.
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "foreign-ca.key", "-out", "foreign-ca.pem", "-subj", "/CN=Foreign CA", "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE"]);
    work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "foreign.key", "-out", "foreign.csr", "-subj", "/O=CertFleet/CN=est-reenroll"]);
    work.ok(["x509", "-req", "-in", "foreign.csr", "-CA", "foreign-ca.pem", "-CAkey", "foreign-ca.key", "-CAcreateserial", "-days", "1", "-out", "foreign.pem"]);
    csr("same", "/O=CertFleet/CN=est-reenroll");
    before = await counts();
    const foreign = curl("simplereenroll", { body: "same.b64", cert: "foreign.pem", key: "foreign.key" });
    await expectRefusal(foreign, 401, before);
    // …nor does it count as a bootstrap certificate for simpleenroll.
    before = await counts();
    await expectRefusal(curl("simpleenroll", { body: "same.b64", cert: "foreign.pem", key: "foreign.key" }), 401, before);

    // No certificate at all.
    before = await counts();
    await expectRefusal(curl("simplereenroll", { body: "same.b64" }), 401, before, false);

    const revoked = await api(server.url, operator, "POST", `/api/v1/certificates/${issued.data.certificate.id}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    before = await counts();
    await expectRefusal(curl("simplereenroll", { body: "same.b64", cert: "re.pem", key: "re.key" }), 403, before);
  });

  it("revokes the old certificate as superseded when the CA says so", async () => {
    const settings = await api(server.url, admin, "PATCH", "/api/v1/cas/issuing-1/est", { reenrollGraceDays: 0, revokeSuperseded: true });
    expect(settings.status, JSON.stringify(settings.data)).toBe(200);
    expect(settings.data).toMatchObject({ estRevokeSuperseded: true });
    expect((await api(server.url, operator, "PATCH", "/api/v1/cas/issuing-1/est", { reenrollGraceDays: 1, revokeSuperseded: false })).status).toBe(403);
    try {
      const deviceId = await newDevice("est-revoke-old");
      const issued = await api(server.url, operator, "POST", `/api/v1/devices/${deviceId}/certificates`, { generateKey: { algorithm: "EC-P256" } });
      work.file("ro.pem", issued.data.certificatePem);
      work.file("ro.key", issued.data.privateKeyPem);
      csr("ro2", "/O=CertFleet/CN=est-revoke-old");
      const r = curl("simplereenroll", { body: "ro2.b64", cert: "ro.pem", key: "ro.key" });
      expect(r.status, r.body).toBe(200);
      const old = await db().certificate.findUniqueOrThrow({ where: { id: issued.data.certificate.id } });
      expect(old.status).toBe("revoked");
      expect(old.revocationReason).toBe(4); // superseded
      expect(old.supersededById).not.toBeNull();
    } finally {
      await api(server.url, admin, "PATCH", "/api/v1/cas/issuing-1/est", { reenrollGraceDays: 0, revokeSuperseded: false });
    }
  });

  it("enrolls with a bootstrap certificate from a registered manufacturer CA (zero touch), creating the device with tags", async () => {
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "mfr-ca.key", "-out", "mfr-ca.pem", "-subj", "/O=Acme Devices/CN=Acme IDevID CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE"]);
    const idevid = (name: string, subj: string) => {
      work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj]);
      work.ok(["x509", "-req", "-in", `${name}.csr`, "-CA", "mfr-ca.pem", "-CAkey", "mfr-ca.key", "-CAcreateserial", "-days", "10", "-out", `${name}.pem`]);
    };
    idevid("idev1", "/O=Acme Devices/CN=factory-0001");
    csr("boot", "/CN=factory-0001");

    // Before registration the manufacturer's certificate proves nothing.
    let before = await counts();
    await expectRefusal(curl("simpleenroll", { body: "boot.b64", cert: "idev1.pem", key: "idev1.key" }), 401, before);

    // Registration: admin only, validated, audited.
    const pem = readFileSync(work.path("mfr-ca.pem"), "utf8");
    expect((await api(server.url, operator, "POST", "/api/v1/bootstrap-cas", { name: "acme", certificatePem: pem, lookup: "cn-as-name", allowCreate: true, tags: ["acme"] })).status).toBe(403);
    before = await counts();
    const notCa = await api(server.url, admin, "POST", "/api/v1/bootstrap-cas", { name: "leaf", certificatePem: readFileSync(work.path("idev1.pem"), "utf8"), lookup: "cn-as-name" });
    expect(notCa.status).toBe(400);
    expect(await db().bootstrapCa.count()).toBe(0);
    expect((await counts()).audit).toBe(before.audit);
    const registered = await api(server.url, admin, "POST", "/api/v1/bootstrap-cas", { name: "acme", certificatePem: pem, lookup: "cn-as-name", allowCreate: true, tags: ["acme", "line-3"] });
    expect(registered.status, JSON.stringify(registered.data)).toBe(201);
    expect(registered.data.fingerprint).toBe(work.ok(["x509", "-in", work.path("mfr-ca.pem"), "-noout", "-fingerprint", "-sha256"]).trim().split("=")[1].replace(/:/g, "").toLowerCase());
    // No wait: the EST handler's cached bootstrap CA list is dropped by the registration.

    const r = curl("simpleenroll", { body: "boot.b64", cert: "idev1.pem", key: "idev1.key" });
    expect(r.status, r.body).toBe(200);
    work.file("boot.pem", printCerts(r.body));
    expect(work.ok(["verify", "-CAfile", work.path("chain.pem"), work.path("boot.pem")])).toMatch(/OK/);
    expect(work.ok(["x509", "-in", work.path("boot.pem"), "-noout", "-subject"])).toMatch(/CN = factory-0001/);
    const device = await db().device.findUniqueOrThrow({ where: { name: "factory-0001" }, include: { tags: true } });
    expect(device.tags.map((t) => t.tag).sort()).toEqual(["acme", "line-3"]);
    expect(device.estEnrolledBy).toBe("bootstrap");
    // A bootstrap certificate enrolls again (factory reset) without creating a second device.
    const devicesBefore = await db().device.count();
    expect(curl("simpleenroll", { body: "boot.b64", cert: "idev1.pem", key: "idev1.key" }).status).toBe(200);
    expect(await db().device.count()).toBe(devicesBefore);

    // A CN that is no valid device name cannot create a device.
    idevid("idev2", "/O=Acme Devices/CN=bad name with spaces");
    before = await counts();
    await expectRefusal(curl("simpleenroll", { body: "boot.b64", cert: "idev2.pem", key: "idev2.key" }), 403, before);
  });

  /**
   * A certificate of `deviceId` that expired `ageDays` ago: signed through the pki layer with a
   * clock set back (validity 1 day) and recorded by the one issuance writer, as if the device had
   * been offline since.
   */
  async function expiredCertificate(deviceId: string, name: string, ageDays: number) {
    csr(name, `/CN=${name}`);
    const parsed = await parseCsr(work.read(`${name}.der`));
    const ca = await db().certificateAuthority.findFirstOrThrow({ where: { slug: "issuing-1" } });
    const key = { spki: parsed.publicKey, keyAlgorithm: parsed.keyAlgorithm, keySource: "csr" as const };
    const device = await db().device.findUniqueOrThrow({ where: { id: deviceId } });
    const issued = await signDeviceCertificate({ ca, deviceName: device.name, key, validityDays: 1, clock: fixedClock(Date.now() - (ageDays + 1) * 86_400_000) });
    const item = issuedItem({ ca, deviceId, issued, key }, (row) => ({ actor: { kind: "system", id: "system", label: "test", role: "admin" }, input: { action: "certificate.issue", targetType: "device", targetId: deviceId, details: { certificateId: row.id } } }));
    await transaction((tx) => recordIssuedInTx(tx, item));
    work.file(`${name}.pem`, `-----BEGIN CERTIFICATE-----\n${Buffer.from(issued.der).toString("base64").replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`);
    return item.row.id;
  }

  it("re-enrolls an expired certificate only within the CA's grace (default none)", async () => {
    const deviceId = await newDevice("est-offline");
    const oldId = await expiredCertificate(deviceId, "offline", 2);
    // Really expired, by OpenSSL's reading.
    expect(work.run(["x509", "-in", work.path("offline.pem"), "-noout", "-checkend", "0"]).status).not.toBe(0);
    csr("offline2", "/O=CertFleet/CN=est-offline");

    let before = await counts();
    const refused = curl("simplereenroll", { body: "offline2.b64", cert: "offline.pem", key: "offline.key" });
    await expectRefusal(refused, 403, before);
    expect(refused.body).toMatch(/expired/);

    // A grace shorter than the certificate's age still refuses.
    expect((await api(server.url, admin, "PATCH", "/api/v1/cas/issuing-1/est", { reenrollGraceDays: 1, revokeSuperseded: false })).status).toBe(200);
    try {
      before = await counts();
      const late = curl("simplereenroll", { body: "offline2.b64", cert: "offline.pem", key: "offline.key" });
      await expectRefusal(late, 403, before);
      expect(late.body).toMatch(/more than 1 days ago/);

      expect((await api(server.url, admin, "PATCH", "/api/v1/cas/issuing-1/est", { reenrollGraceDays: 3, revokeSuperseded: false })).status).toBe(200);
      const ok = curl("simplereenroll", { body: "offline2.b64", cert: "offline.pem", key: "offline.key" });
      expect(ok.status, ok.body).toBe(200);
      work.file("offline2.pem", printCerts(ok.body));
      expect(work.ok(["verify", "-CAfile", work.path("chain.pem"), work.path("offline2.pem")])).toMatch(/OK/);
      expect(work.run(["x509", "-in", work.path("offline2.pem"), "-noout", "-checkend", "86400"]).status).toBe(0);
      const old = await db().certificate.findUniqueOrThrow({ where: { id: oldId } });
      expect(old.status).toBe("superseded");
      expect((await db().device.findUniqueOrThrow({ where: { id: deviceId } })).currentCertId).toBe(old.supersededById);
    } finally {
      await api(server.url, admin, "PATCH", "/api/v1/cas/issuing-1/est", { reenrollGraceDays: 0, revokeSuperseded: false });
    }
  });

  it("refuses bootstrap certificates the bootstrap CA's CRL (openssl ca -gencrl) revokes, and all of them once it is stale", async () => {
    // A manufacturer CA run by `openssl ca`, so it can revoke and publish a CRL.
    mkdirSync(work.path("crl-ca"));
    work.file("crl-ca/index.txt", "");
    work.file("crl-ca/crlnumber", "1000\n");
    const cnf = work.file(
      "crl-ca/ca.cnf",
      [
        "[ca]", "default_ca = d", "[d]", `dir = ${work.path("crl-ca")}`, "database = $dir/index.txt", "new_certs_dir = $dir", "serial = $dir/serial",
        "crlnumber = $dir/crlnumber", "default_md = sha256", "default_days = 10", "default_crl_days = 7", "policy = p", "unique_subject = no", "copy_extensions = none",
        "[p]", "commonName = supplied", "organizationName = optional", "",
      ].join("\n"),
    );
    work.file("crl-ca/serial", "1001\n");
    // For CRLs that go stale within seconds (-crlsec): without default_crl_days, which would add up.
    const briefCnf = work.file("crl-ca/brief.cnf", readFileSync(cnf, "utf8").replace("default_crl_days = 7", ""));
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "crl-ca/ca.key", "-out", "crl-ca/ca.pem", "-subj", "/O=Beta Devices/CN=Beta IDevID CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    const openssl = (...args: string[]) => work.ok(["ca", "-batch", "-config", cnf, "-keyfile", work.path("crl-ca/ca.key"), "-cert", work.path("crl-ca/ca.pem"), ...args]);
    for (const name of ["beta-0001", "beta-0002"]) {
      work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/O=Beta Devices/CN=${name}`]);
      openssl("-in", work.path(`${name}.csr`), "-out", work.path(`${name}.pem`), "-notext");
    }
    openssl("-revoke", work.path("beta-0002.pem"), "-crl_reason", "keyCompromise");
    openssl("-gencrl", "-out", work.path("beta.crl"));
    expect(work.ok(["crl", "-in", work.path("beta.crl"), "-noout", "-text"])).toMatch(/Serial Number: 1002/);

    const registered = await api(server.url, admin, "POST", "/api/v1/bootstrap-cas", { name: "beta", certificatePem: readFileSync(work.path("crl-ca/ca.pem"), "utf8"), lookup: "cn-as-name", allowCreate: true, tags: ["beta"] });
    expect(registered.status, JSON.stringify(registered.data)).toBe(201);
    const id = registered.data.id as string;
    expect(registered.data.crl).toBeNull();

    // A CRL from another CA, garbage, and a CRL without nextUpdate are refused; nothing stored.
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "crl-ca/other.key", "-out", "crl-ca/other.pem", "-subj", "/O=Beta Devices/CN=Beta IDevID CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE"]);
    work.ok(["ca", "-batch", "-config", cnf, "-keyfile", work.path("crl-ca/other.key"), "-cert", work.path("crl-ca/other.pem"), "-gencrl", "-out", work.path("other.crl")]);
    work.ok(["ca", "-batch", "-config", briefCnf, "-keyfile", work.path("crl-ca/ca.key"), "-cert", work.path("crl-ca/ca.pem"), "-gencrl", "-crlsec", "2", "-out", work.path("brief.crl")]);
    const auditBefore = await db().auditEvent.count();
    for (const [crl, message] of [
      [readFileSync(work.path("other.crl"), "utf8"), /not signed by bootstrap CA "beta"/],
      ["-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", /CRL/],
      ["not a crl at all!", /Not a CRL/],
      ["bm90IGEgQ1JM", /Not a usable CRL/],
    ] as const) {
      const r = await api(server.url, admin, "POST", `/api/v1/bootstrap-cas/${id}/crl`, { crl });
      expect(r.status, JSON.stringify(r.data)).toBe(400);
      expect(r.data.detail).toMatch(message);
    }
    expect((await api(server.url, operator, "POST", `/api/v1/bootstrap-cas/${id}/crl`, { crl: readFileSync(work.path("beta.crl"), "utf8") })).status).toBe(403);
    expect((await db().bootstrapCa.findUniqueOrThrow({ where: { id } })).crlDer).toBeNull();
    expect(await db().auditEvent.count()).toBe(auditBefore);

    // The DER form, as `openssl crl -outform DER` writes it, sent base64.
    work.ok(["crl", "-in", work.path("beta.crl"), "-outform", "DER", "-out", work.path("beta.crl.der")]);
    const attached = await api(server.url, admin, "POST", `/api/v1/bootstrap-cas/${id}/crl`, { crl: work.read("beta.crl.der").toString("base64") });
    expect(attached.status, JSON.stringify(attached.data)).toBe(200);
    expect(attached.data.crl).toMatchObject({ revoked: 1 });
    expect(new Date(attached.data.crl.nextUpdate).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);

    csr("beta", "/CN=beta");
    let before = await counts();
    const revoked = curl("simpleenroll", { body: "beta.b64", cert: "beta-0002.pem", key: "beta-0002.key" });
    await expectRefusal(revoked, 403, before);
    expect(revoked.body).toMatch(/revoked/);
    const ok = curl("simpleenroll", { body: "beta.b64", cert: "beta-0001.pem", key: "beta-0001.key" });
    expect(ok.status, ok.body).toBe(200);
    expect((await db().device.findUniqueOrThrow({ where: { name: "beta-0001" } })).estEnrolledBy).toBe("bootstrap");

    // An older CRL cannot replace a newer one; a CRL that goes stale fails closed.
    await new Promise((r) => setTimeout(r, 1100));
    work.ok(["ca", "-batch", "-config", briefCnf, "-keyfile", work.path("crl-ca/ca.key"), "-cert", work.path("crl-ca/ca.pem"), "-gencrl", "-crlsec", "3", "-out", work.path("soon.crl")]);
    expect((await api(server.url, admin, "POST", `/api/v1/bootstrap-cas/${id}/crl`, { crl: readFileSync(work.path("soon.crl"), "utf8") })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3500));
    before = await counts();
    const stale = curl("simpleenroll", { body: "beta.b64", cert: "beta-0001.pem", key: "beta-0001.key" });
    await expectRefusal(stale, 403, before);
    expect(stale.body).toMatch(/past its nextUpdate/);
    const staleAttach = await api(server.url, admin, "POST", `/api/v1/bootstrap-cas/${id}/crl`, { crl: readFileSync(work.path("brief.crl"), "utf8") });
    expect(staleAttach.status).toBe(400);

    expect((await api(server.url, admin, "DELETE", `/api/v1/bootstrap-cas/${id}`)).status).toBe(200);
    expect(await db().bootstrapCa.count({ where: { id } })).toBe(0);
  });

  /** A serverkeygen answer (multipart/mixed): the key part and the certificate part, base64 decoded. */
  function multipart(result: { body: string; headers: string }) {
    const boundary = /content-type: multipart\/mixed; boundary=(\S+)/.exec(result.headers)![1];
    const parts = result.body.split(`--${boundary}`).slice(1, -1).map((part) => {
      const [head, body] = part.replace(/^\r\n/, "").split("\r\n\r\n");
      return { type: /content-type: ([^\r\n]+)/i.exec(head)![1], der: Buffer.from(body.trim(), "base64") };
    });
    expect(result.body.trimEnd().endsWith(`--${boundary}--`)).toBe(true);
    return parts;
  }

  it("serverkeygen: a secret (or the current certificate) gets a key generated here of the CSR's algorithm, never stored", async () => {
    const deviceId = await newDevice("est-keygen");
    const secret = await secretFor(deviceId);
    work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", "kg.key", "-subj", "/CN=est-keygen", "-outform", "DER", "-out", "kg.der"]);
    work.file("kg.b64", work.read("kg.der").toString("base64"));
    const r = curl("serverkeygen", { body: "kg.b64", user: `${secret.username}:${secret.password}` });
    expect(r.status, r.body).toBe(200);
    const [key, cert] = multipart(r);
    expect(key.type).toBe("application/pkcs8");
    expect(cert.type).toBe("application/pkcs7-mime; smime-type=certs-only");
    work.file("kg-key.der", key.der);
    const keyText = work.ok(["pkey", "-inform", "DER", "-in", work.path("kg-key.der"), "-noout", "-text"]);
    expect(keyText).toMatch(/NIST CURVE: P-384|secp384r1/);
    work.file("kg-cert.pem", printCerts(cert.der.toString("base64")));
    expect(work.ok(["verify", "-CAfile", work.path("chain.pem"), work.path("kg-cert.pem")])).toMatch(/OK/);
    // The key is the certificate's, and not the CSR's.
    const certPub = work.ok(["x509", "-in", work.path("kg-cert.pem"), "-noout", "-pubkey"]);
    expect(work.ok(["pkey", "-inform", "DER", "-in", work.path("kg-key.der"), "-pubout"])).toBe(certPub);
    expect(work.ok(["pkey", "-in", work.path("kg.key"), "-pubout"])).not.toBe(certPub);
    const row = await db().certificate.findFirstOrThrow({ where: { deviceId } });
    expect(row).toMatchObject({ keySource: "generated", keyAlgorithm: "EC-P384" });
    // Never stored: neither its DER nor its base64 in the device's certificate rows or audit trail.
    for (const c of await db().certificate.findMany({ where: { deviceId } })) {
      for (const bytes of [c.der, c.publicKeyDer]) expect(Buffer.from(bytes).indexOf(key.der)).toBe(-1);
    }
    expect(JSON.stringify(await db().auditEvent.findMany({ where: { targetId: deviceId } }))).not.toContain(key.der.toString("base64"));
    expect((await db().enrollmentSecret.findFirstOrThrow({ where: { deviceId } })).usedAt).not.toBeNull();

    // With the issued pair as TLS client identity it re-enrolls (subject must match) with a new generated key.
    work.ok(["pkey", "-inform", "DER", "-in", work.path("kg-key.der"), "-out", work.path("kg-key.pem")]);
    csr("kg2", "/O=CertFleet/CN=est-keygen");
    const again = curl("serverkeygen", { body: "kg2.b64", cert: "kg-cert.pem", key: "kg-key.pem" });
    expect(again.status, again.body).toBe(200);
    const [key2, cert2] = multipart(again);
    work.file("kg2-key.der", key2.der);
    work.file("kg2-cert.pem", printCerts(cert2.der.toString("base64")));
    expect(work.ok(["pkey", "-inform", "DER", "-in", work.path("kg2-key.der"), "-pubout"])).toBe(work.ok(["x509", "-in", work.path("kg2-cert.pem"), "-noout", "-pubkey"]));
    expect((await db().certificate.findUniqueOrThrow({ where: { id: row.id } })).status).toBe("superseded");
    expect((await db().device.findUniqueOrThrow({ where: { id: deviceId } })).estEnrolledBy).toBe("reenroll");

    // A spent secret gets nothing.
    const before = await counts();
    await expectRefusal(curl("serverkeygen", { body: "kg.b64", user: `${secret.username}:${secret.password}` }), 401, before);
  });

  it("creates a secret with the CLI (certfleet enrollment create) that enrolls once", async () => {
    await newDevice("est-cli");
    const out = cli("enrollment", "create", "--device", "est-cli", "--days", "1");
    const password = /password: (\S+)/.exec(out)![1];
    expect(out).toMatch(/username: est-cli/);
    expect(await db().enrollmentSecret.count({ where: { secretHash: { contains: password } } })).toBe(0);
    csr("c", "/CN=est-cli");
    expect(curl("simpleenroll", { body: "c.b64", user: `est-cli:${password}` }).status).toBe(200);
    expect(curl("simpleenroll", { body: "c.b64", user: `est-cli:${password}` }).status).toBe(401);
  });

  it("throttles guessing of secrets per username and address", async () => {
    const deviceId = await newDevice("est-throttle");
    const secret = await secretFor(deviceId);
    csr("t", "/CN=est-throttle");
    for (let i = 0; i < 5; i++) expect(curl("simpleenroll", { body: "t.b64", user: `${secret.username}:guess-${i}` }).status).toBe(401);
    const before = await counts();
    const locked = curl("simpleenroll", { body: "t.b64", user: `${secret.username}:${secret.password}` });
    expect(locked.status).toBe(429);
    expect(locked.headers).toMatch(/retry-after: \d+/);
    expect(await counts()).toEqual(before);
  });
});

