// PKCS#12 bundles opened by OpenSSL 3 without -legacy.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createIssuingCa,
  createRootCa,
  exportPkcs8,
  generateKeyPair,
  issueCertificate,
  buildPkcs12,
  PkiError,
  type CreatedCa,
  type KeyAlgorithm,
} from "@/lib/pki";
import { Workdir } from "../../helpers/openssl";

const URLS = { crl: "http://h/crl", ocsp: "http://h/ocsp", caIssuers: "http://h/ca" };

describe("buildPkcs12", () => {
  const wd = new Workdir();
  let root: CreatedCa;
  let issuing: CreatedCa;

  beforeAll(async () => {
    root = await createRootCa({ subject: "CN=P12 Root" });
    issuing = await createIssuingCa({ parent: root, subject: "CN=P12 Issuing" });
  });
  afterAll(() => wd.dispose());

  async function bundle(algorithm: KeyAlgorithm, password = "pw", iterations?: number) {
    const keys = await generateKeyPair(algorithm);
    const cert = await issueCertificate({
      issuer: issuing,
      profile: "device-client",
      subject: { commonName: `p12-${algorithm}` },
      publicKey: keys.publicKey,
      urls: URLS,
    });
    const pkcs8 = await exportPkcs8(keys.privateKey);
    const p12 = await buildPkcs12({
      privateKeyPkcs8: pkcs8,
      certificate: cert.der,
      chain: [issuing.der, root.der],
      password,
      friendlyName: `p12-${algorithm}`,
      iterations,
    });
    return { p12, cert, pkcs8 };
  }

  it.each<KeyAlgorithm>(["EC-P256", "RSA-2048"])("%s: opens with openssl pkcs12 -info (no -legacy), PBES2/AES-256/SHA-256, key matches cert", async (algorithm) => {
    const { p12, cert } = await bundle(algorithm);
    const file = wd.file(`${algorithm}.p12`, p12);
    const info = wd.run(["pkcs12", "-info", "-in", file, "-nodes", "-passin", "pass:pw"]);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stderr).toMatch(/MAC: sha256, Iteration 100000/);
    expect(info.stderr).toMatch(/PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256/);
    expect(info.stderr).toMatch(/Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256/);
    expect(info.stdout).toContain(`friendlyName: p12-${algorithm}`);
    expect(info.stdout.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);

    // Pull key and leaf back out and compare public keys the way an operator would.
    wd.ok(["pkcs12", "-in", file, "-nodes", "-nocerts", "-passin", "pass:pw", "-out", `${algorithm}.key.pem`]);
    wd.ok(["pkcs12", "-in", file, "-clcerts", "-nokeys", "-passin", "pass:pw", "-out", `${algorithm}.crt.pem`]);
    const keyPub = wd.ok(["pkey", "-in", `${algorithm}.key.pem`, "-pubout"]);
    const certPub = wd.ok(["x509", "-in", `${algorithm}.crt.pem`, "-noout", "-pubkey"]);
    expect(keyPub).toBe(certPub);
    expect(wd.ok(["x509", "-in", `${algorithm}.crt.pem`, "-noout", "-serial"]).trim()).toBe(`serial=${cert.serialHex.toUpperCase()}`);
  });

  it("fails to open with a wrong password", async () => {
    const { p12 } = await bundle("EC-P256", "correct hörse", 2048);
    const file = wd.file("wrong.p12", p12);
    const r = wd.run(["pkcs12", "-info", "-in", file, "-nodes", "-passin", "pass:battery staple"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/mac verify failure|invalid password/i);
    expect(wd.run(["pkcs12", "-info", "-in", file, "-nodes", "-passin", "pass:correct hörse"]).status).toBe(0);
  });

  it("refuses a key that does not belong to the certificate, an empty password and too few iterations", async () => {
    const a = await bundle("EC-P256");
    const other = await generateKeyPair("EC-P256");
    const reject = (p: Promise<unknown>) => expect(p).rejects.toBeInstanceOf(PkiError);
    await reject(buildPkcs12({ privateKeyPkcs8: await exportPkcs8(other.privateKey), certificate: a.cert.der, password: "pw" }));
    await reject(buildPkcs12({ privateKeyPkcs8: a.pkcs8, certificate: a.cert.der, password: "" }));
    await reject(buildPkcs12({ privateKeyPkcs8: a.pkcs8, certificate: a.cert.der, password: "pw", iterations: 1000 }));
  });
});
