// The certificate lifecycle through the services the server actions use, on a real database,
// checked with the real OpenSSL CLI.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { testProviders } from "../helpers/databases";
import { startInstance, type TestInstance } from "../helpers/instance";
import { Workdir } from "../helpers/openssl";
import { db } from "@/lib/db";
import { SYSTEM_ACTOR, type Actor } from "@/lib/auth/roles";
import { createDevice, decommissionDevice } from "@/lib/services/devices";
import { issueDeviceCertificate, renewCertificate, revokeCertificate, unholdCertificate, listCertificates } from "@/lib/services/certificates";
import { forgetSignersForTests, listCas } from "@/lib/services/cas";
import { resetConfigForTests } from "@/lib/config";
import { resetSecretsForTests, getMasterKey } from "@/lib/secrets";
import { openSecret } from "@/lib/pki";
import { ZIssueCertificate, ZRenewCertificate } from "@/lib/validation/certificates";

const operator: Actor = { kind: "user", id: "op", label: "op@test", role: "operator" };
const viewer: Actor = { kind: "user", id: "v", label: "viewer@test", role: "viewer" };

describe.each(testProviders())("certificate lifecycle on %s", (provider) => {
  let inst: TestInstance;
  let work: Workdir;
  let rootPem: string;
  let issuingPem: string;

  const counts = async () => ({ certificates: await db().certificate.count(), audit: await db().auditEvent.count() });
  const csr = (args: string[], subj = "/CN=spoofed-name/O=Evil") => {
    const name = `k${randomBytes(4).toString("hex")}`;
    work.ok(["req", "-new", ...args, "-nodes", "-keyout", `${name}.key`, "-subj", subj, "-out", `${name}.csr`]);
    return { csr: work.read(`${name}.csr`).toString(), keyFile: work.path(`${name}.key`) };
  };
  const issue = (deviceId: string, body: unknown, actor: Actor = operator) => issueDeviceCertificate(actor, deviceId, ZIssueCertificate.parse(body));

  beforeAll(async () => {
    inst = await startInstance(provider, { CERTFLEET_PUBLIC_URL: "http://pki.test:8080" });
    forgetSignersForTests();
    work = new Workdir();
    const cas = await listCas(SYSTEM_ACTOR);
    rootPem = cas.find((c) => c.kind === "root")!.certificatePem;
    issuingPem = cas.find((c) => c.kind === "issuing")!.certificatePem;
    work.file("root.pem", rootPem);
    work.file("issuing.pem", issuingPem);
  });
  afterAll(async () => {
    work?.dispose();
    await inst?.close();
  });

  it("creates the CA hierarchy on first start with sealed keys", async () => {
    const cas = await db().certificateAuthority.findMany();
    expect(cas.map((c) => c.kind).sort()).toEqual(["issuing", "root"]);
    for (const ca of cas) {
      const pkcs8 = Buffer.from(openSecret(getMasterKey(), ca.sealedKey, `ca-key:${ca.slug}`));
      const row = JSON.stringify({ ...ca, certificateDer: Buffer.from(ca.certificateDer).toString("base64"), crlNumber: String(ca.crlNumber) });
      expect(row).not.toContain(pkcs8.toString("base64").slice(0, 40));
      expect(row).not.toContain(pkcs8.toString("hex").slice(0, 40));
      expect(row).not.toMatch(/PRIVATE KEY/);
    }
    const text = work.ok(["x509", "-in", "issuing.pem", "-noout", "-text"]);
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(work.ok(["verify", "-CAfile", "root.pem", "issuing.pem"])).toContain("OK");
  });

  it("issues from an openssl CSR a certificate that openssl verifies, with the subject from the device record", async () => {
    const device = await createDevice(operator, { name: "truck-0001" });
    const { csr: pem, keyFile } = csr(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    const out = await issue(device.id, { csr: pem });
    expect(out.privateKeyPem).toBeUndefined();
    work.file("leaf.pem", out.certificatePem);
    work.file("chain.pem", out.chainPem);
    expect(work.ok(["verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "-purpose", "sslclient", "leaf.pem"])).toContain("leaf.pem: OK");
    expect(work.ok(["verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "leaf.pem"])).toContain("OK");
    const text = work.ok(["x509", "-in", "leaf.pem", "-noout", "-text"]);
    expect(text).toMatch(/Subject: .*CN = truck-0001/);
    expect(text).not.toContain("spoofed-name");
    expect(text).toMatch(/CA:FALSE/);
    expect(text).toMatch(/TLS Web Client Authentication/);
    expect(text).toContain("URI:http://pki.test:8080/pki/crl/issuing-1.crl");
    expect(text).toContain("OCSP - URI:http://pki.test:8080/pki/ocsp/issuing-1");
    expect(text).toContain("CA Issuers - URI:http://pki.test:8080/pki/ca/issuing-1.cer");
    expect(text).toMatch(/X509v3 Subject Key Identifier/);
    expect(text).toMatch(/X509v3 Authority Key Identifier/);
    // the certificate holds the CSR's key
    expect(work.ok(["x509", "-in", "leaf.pem", "-noout", "-pubkey"])).toBe(work.ok(["pkey", "-in", keyFile, "-pubout"]));
    const serial = work.ok(["x509", "-in", "leaf.pem", "-noout", "-serial"]).trim().split("=")[1].toLowerCase();
    expect(serial.replace(/^0+/, "")).toBe(out.certificate.serialHex.replace(/^0+/, ""));
    expect(serial.length).toBeGreaterThanOrEqual(16);
    const stored = await db().certificate.findUniqueOrThrow({ where: { id: out.certificate.id } });
    expect(stored.status).toBe("active");
    expect((await db().device.findUniqueOrThrow({ where: { id: device.id } })).currentCertId).toBe(stored.id);
    const ca = await db().certificateAuthority.findFirstOrThrow({ where: { kind: "issuing" } });
    expect(JSON.parse(ca.crlUris)).toEqual(["http://pki.test:8080/pki/crl/issuing-1.crl"]);
  });

  it("generates a key server-side, returns it once, and never stores it", async () => {
    const device = await createDevice(operator, { name: "meter-0001" });
    const out = await issue(device.id, { generateKey: { algorithm: "EC-P384" } });
    expect(out.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    work.file("gen.key", out.privateKeyPem!);
    work.file("gen.pem", out.certificatePem);
    expect(work.ok(["x509", "-in", "gen.pem", "-noout", "-pubkey"])).toBe(work.ok(["pkey", "-in", "gen.key", "-pubout"]));
    expect(work.ok(["verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "gen.pem"])).toContain("OK");
    const keyB64 = out.privateKeyPem!.replace(/-----[^-]+-----|\s/g, "");
    const rows = JSON.stringify(await db().certificate.findMany(), (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : typeof v === "bigint" ? String(v) : v));
    expect(rows).not.toContain(keyB64.slice(20, 80));
    const audit = JSON.stringify(await db().auditEvent.findMany());
    expect(audit).not.toContain(keyB64.slice(20, 80));
  });

  it("issues a broker-server certificate for a broker's names, and refuses one without names", async () => {
    const device = await createDevice(operator, { name: "broker-east" });
    const out = await issue(device.id, { generateKey: { algorithm: "EC-P256" }, profile: "broker-server", sans: { dns: ["mqtt.example.net"], ip: ["10.1.2.3"] } });
    work.file("broker.pem", out.certificatePem);
    expect(work.ok(["verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "-purpose", "sslserver", "broker.pem"])).toContain("OK");
    const text = work.ok(["x509", "-in", "broker.pem", "-noout", "-text"]);
    expect(text).toContain("TLS Web Server Authentication");
    expect(text).toMatch(/DNS:mqtt\.example\.net, IP Address:10\.1\.2\.3/);
    expect(out.certificate.profile).toBe("broker-server");
    expect(() => ZIssueCertificate.parse({ generateKey: { algorithm: "EC-P256" }, profile: "broker-server" })).toThrow(/DNS name or IP/);
  });

  it("packs a generated key as a PKCS#12 that OpenSSL 3 opens without -legacy", async () => {
    const device = await createDevice(operator, { name: "gateway-0001" });
    const out = await issue(device.id, { generateKey: { algorithm: "EC-P256" }, format: "pkcs12", password: "s3cret-pass" });
    expect(out.privateKeyPem).toBeUndefined();
    work.file("dev.p12", Buffer.from(out.pkcs12Base64!, "base64"));
    const info = work.run(["pkcs12", "-in", "dev.p12", "-info", "-nodes", "-passin", "pass:s3cret-pass"]);
    expect(info.status).toBe(0);
    expect(info.stdout + info.stderr).toMatch(/PBES2.*AES-256-CBC|AES-256-CBC/s);
    expect(info.stdout).toContain("BEGIN PRIVATE KEY");
    expect(info.stdout).toContain("CN = gateway-0001");
    expect(work.run(["pkcs12", "-in", "dev.p12", "-info", "-nodes", "-passin", "pass:wrong"]).status).not.toBe(0);
  });

  it("renews with the same key for a CSR device and supersedes the old certificate", async () => {
    const device = await createDevice(operator, { name: "truck-0002" });
    const first = await issue(device.id, { csr: csr(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]).csr });
    const renewed = await renewCertificate(operator, first.certificate.id, ZRenewCertificate.parse({}));
    expect(renewed.certificate.serialHex).not.toBe(first.certificate.serialHex);
    expect(renewed.certificate.notAfter.getTime()).toBeGreaterThanOrEqual(first.certificate.notAfter.getTime());
    work.file("r1.pem", first.certificatePem);
    work.file("r2.pem", renewed.certificatePem);
    expect(work.ok(["x509", "-in", "r2.pem", "-noout", "-pubkey"])).toBe(work.ok(["x509", "-in", "r1.pem", "-noout", "-pubkey"]));
    const old = await db().certificate.findUniqueOrThrow({ where: { id: first.certificate.id } });
    expect(old).toMatchObject({ status: "superseded", supersededById: renewed.certificate.id, revokedAt: null });
    await expect(renewCertificate(operator, first.certificate.id, ZRenewCertificate.parse({}))).rejects.toMatchObject({ code: "INVALID_STATE" });
    await expect(renewCertificate(operator, renewed.certificate.id, ZRenewCertificate.parse({ rekey: true }))).rejects.toMatchObject({ code: "INVALID_STATE" });
    // a double click: two renewals at once, exactly one wins
    const results = await Promise.allSettled([
      renewCertificate(operator, renewed.certificate.id, ZRenewCertificate.parse({})),
      renewCertificate(operator, renewed.certificate.id, ZRenewCertificate.parse({})),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await db().certificate.count({ where: { deviceId: device.id, status: "active" } })).toBe(1);
  });

  it("renews a server-generated key with rekey, optionally revoking the old one as superseded", async () => {
    const device = await createDevice(operator, { name: "meter-0002" });
    const first = await issue(device.id, { generateKey: { algorithm: "EC-P256" } });
    const renewed = await renewCertificate(operator, first.certificate.id, ZRenewCertificate.parse({ rekey: true, revokeOld: true }));
    expect(renewed.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(renewed.privateKeyPem).not.toBe(first.privateKeyPem);
    const old = await db().certificate.findUniqueOrThrow({ where: { id: first.certificate.id } });
    expect(old).toMatchObject({ status: "revoked", revocationReason: 4, supersededById: renewed.certificate.id });
  });

  it("revokes with a reason, holds and releases, and refuses to revoke twice", async () => {
    const device = await createDevice(operator, { name: "truck-0003" });
    const out = await issue(device.id, { generateKey: { algorithm: "EC-P256" } });
    const before = (await db().certificateAuthority.findFirstOrThrow({ where: { kind: "issuing" } })).revocationVersion;
    const held = await revokeCertificate(operator, out.certificate.id, "certificateHold");
    expect(held).toMatchObject({ status: "revoked", revocationReason: "certificateHold" });
    const released = await unholdCertificate(operator, out.certificate.id);
    expect(released).toMatchObject({ status: "active", revocationReason: null, revokedAt: null });
    const revoked = await revokeCertificate(operator, out.certificate.id, "keyCompromise");
    expect(revoked).toMatchObject({ status: "revoked", revocationReason: "keyCompromise" });
    const after = (await db().certificateAuthority.findFirstOrThrow({ where: { kind: "issuing" } })).revocationVersion;
    expect(after).toBe(before + 3);
    const c = await counts();
    await expect(revokeCertificate(operator, out.certificate.id, "keyCompromise")).rejects.toMatchObject({ code: "INVALID_STATE" });
    await expect(renewCertificate(operator, out.certificate.id, ZRenewCertificate.parse({}))).rejects.toMatchObject({ code: "INVALID_STATE" });
    await expect(unholdCertificate(operator, out.certificate.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
    expect(await counts()).toEqual(c);
    const listed = await listCertificates(viewer, { deviceId: device.id, status: "revoked", limit: 50 });
    expect(listed.items.map((i) => i.id)).toEqual([out.certificate.id]);
  });

  it("decommissioning revokes every certificate of the device (cessationOfOperation)", async () => {
    const device = await createDevice(operator, { name: "truck-0004" });
    const a = await issue(device.id, { generateKey: { algorithm: "EC-P256" } });
    const b = await issue(device.id, { generateKey: { algorithm: "EC-P256" } });
    await decommissionDevice(operator, device.id);
    const certs = await db().certificate.findMany({ where: { id: { in: [a.certificate.id, b.certificate.id] } } });
    expect(certs.map((c) => [c.status, c.revocationReason])).toEqual([["revoked", 5], ["revoked", 5]]);
    await expect(issue(device.id, { generateKey: { algorithm: "EC-P256" } })).rejects.toMatchObject({ code: "INVALID_STATE" });
  });

  it("refuses bad requests with a clear reason and stores nothing", async () => {
    const device = await createDevice(operator, { name: "truck-0005" });
    const refuse = async (body: unknown, code: string, message?: RegExp, actor: Actor = operator, deviceId = device.id) => {
      const before = await counts();
      const error = await issue(deviceId, body, actor).then(() => null, (e) => e);
      expect(error, JSON.stringify(body).slice(0, 80)).toMatchObject({ code });
      if (message) expect(error.message).toMatch(message);
      expect(await counts()).toEqual(before);
    };
    await refuse({ csr: "-----BEGIN CERTIFICATE REQUEST-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE REQUEST-----" }, "CSR_MALFORMED");
    await refuse({ csr: randomBytes(300).toString("base64") }, "CSR_MALFORMED");
    const der = Buffer.from(csr(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]).csr.replace(/-----[^-]+-----|\s/g, ""), "base64");
    der[der.length - 5] ^= 0x55; // inside the signature
    await refuse({ csr: `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n` }, "CSR_SIGNATURE_INVALID");
    await refuse({ csr: csr(["-newkey", "rsa:1024"]).csr }, "KEY_POLICY", /1024/);
    await refuse({ csr: csr(["-newkey", "ed448"]).csr }, "KEY_POLICY", /Ed448/i);
    await refuse({ csr: csr(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"]).csr }, "KEY_POLICY");
    await refuse({ csr: csr(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-addext", "basicConstraints=critical,CA:TRUE"]).csr }, "CSR_FORBIDDEN_EXTENSION", /CA/);
    await refuse({ generateKey: { algorithm: "EC-P256" } }, "FORBIDDEN", undefined, viewer);
    await refuse({ generateKey: { algorithm: "EC-P256" } }, "NOT_FOUND", undefined, operator, "no-such-device");
    expect(() => ZIssueCertificate.parse({ csr: "x", generateKey: { algorithm: "EC-P256" } })).toThrow();
    expect(() => ZIssueCertificate.parse({ generateKey: { algorithm: "EC-P521" } })).toThrow();
  });

  it("commits concurrent issuances together, and fails only the caller whose device went away", async () => {
    const devices = await Promise.all(Array.from({ length: 24 }, (_, i) => createDevice(operator, { name: `batch-${i}` })));
    const doomed = devices[5];
    let decommissioned: Promise<unknown> = Promise.resolve();
    const attempts = devices.map((d, i) => {
      const p = issue(d.id, { generateKey: { algorithm: "EC-P256" } });
      // Decommission one device while its issuance is queued behind the others.
      if (i === 5) decommissioned = decommissionDevice(operator, doomed.id);
      return p;
    });
    const results = await Promise.allSettled(attempts);
    await decommissioned;
    // Every other caller gets its certificate, whichever side of the batch the decommission lands on.
    results.forEach((r, i) => i !== 5 && expect(r.status).toBe("fulfilled"));
    const doomedResult = results[5];
    if (doomedResult.status === "rejected") {
      expect(doomedResult.reason).toMatchObject({ code: "INVALID_STATE" });
      expect(await db().certificate.count({ where: { deviceId: doomed.id } })).toBe(0);
    } else {
      // The issuance committed first: the decommission then revoked it.
      const row = await db().certificate.findUniqueOrThrow({ where: { id: doomedResult.value.certificate.id } });
      expect(row).toMatchObject({ status: "revoked", revocationReason: 5 });
    }
    const ok = results.filter((r) => r.status === "fulfilled") as PromiseFulfilledResult<Awaited<ReturnType<typeof issue>>>[];
    for (const r of ok) {
      const row = await db().certificate.findUniqueOrThrow({ where: { id: r.value.certificate.id } });
      expect(row.serialHex).toBe(r.value.certificate.serialHex);
      const device = await db().device.findUniqueOrThrow({ where: { id: row.deviceId! } });
      if (device.status === "active") expect(device.currentCertId).toBe(row.id);
    }
    const issuedEvents = await db().auditEvent.findMany({ where: { action: "certificate.issue", targetId: { in: devices.map((d) => d.id) } } });
    expect(issuedEvents.length).toBe(ok.length);
    const { verifyAuditChain } = await import("@/lib/services/audit");
    expect((await verifyAuditChain(SYSTEM_ACTOR)).ok).toBe(true);
  });

  it("refuses to sign with a wrong master key instead of producing garbage", async () => {
    const device = await createDevice(operator, { name: "truck-0006" });
    const before = await counts();
    process.env.CERTFLEET_MASTER_KEY = randomBytes(32).toString("base64");
    resetConfigForTests();
    resetSecretsForTests();
    forgetSignersForTests();
    try {
      const error = await issue(device.id, { generateKey: { algorithm: "EC-P256" } }).then(() => null, (e) => e);
      expect(error).toMatchObject({ code: "MASTER_KEY_MISMATCH" });
      expect(error.message).toMatch(/master key/i);
      expect(await counts()).toEqual(before);
    } finally {
      delete process.env.CERTFLEET_MASTER_KEY;
      resetConfigForTests();
      resetSecretsForTests();
      forgetSignersForTests();
    }
    await expect(issue(device.id, { generateKey: { algorithm: "EC-P256" } })).resolves.toBeTruthy();
  });
});
