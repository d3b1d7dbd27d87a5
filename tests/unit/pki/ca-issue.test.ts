// CA hierarchy and end-entity issuance, checked by the OpenSSL CLI.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, webcrypto } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALGORITHM_PARAMS,
  createIssuingCa,
  createRootCa,
  fixedClock,
  generateKeyPair,
  issueCertificate,
  type CreatedCa,
  type KeyAlgorithm,
  type ProfileId,
  type Signer,
} from "@/lib/pki";
import { Workdir } from "../../helpers/openssl";
import { expectPkiError } from "../../helpers/pki-errors";

const URLS = {
  crl: "http://pki.example.test/pki/crl/issuing-1.crl",
  ocsp: "http://pki.example.test/pki/ocsp",
  caIssuers: "http://pki.example.test/pki/ca/issuing-1.cer",
};


describe.each<KeyAlgorithm>(["EC-P256", "EC-P384", "RSA-2048"])("CA hierarchy with %s keys", (algorithm) => {
  const wd = new Workdir();
  const clock = fixedClock(Date.now());
  let root: CreatedCa;
  let issuing: CreatedCa;

  beforeAll(async () => {
    root = await createRootCa({ subject: `CN=CertFleet Test Root ${algorithm}, O=CertFleet Tests`, algorithm, clock });
    issuing = await createIssuingCa({
      parent: { certificate: root.certificate, signer: root.signer },
      subject: `CN=CertFleet Test Issuing ${algorithm}, O=CertFleet Tests`,
      algorithm,
      clock,
    });
    wd.file("root.pem", root.pem);
    wd.file("issuing.pem", issuing.pem);
  });
  afterAll(() => wd.dispose());

  it("root is self-signed with CA:TRUE pathlen 1, keyCertSign|cRLSign and an SKI", () => {
    expect(wd.ok(["verify", "-CAfile", "root.pem", "root.pem"])).toContain("root.pem: OK");
    const text = wd.ok(["x509", "-in", "root.pem", "-noout", "-text"]);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain("X509v3 Subject Key Identifier");
    const sigAlg = { "EC-P256": "ecdsa-with-SHA256", "EC-P384": "ecdsa-with-SHA384", "RSA-2048": "sha256WithRSAEncryption" }[algorithm as string];
    expect(text).toContain(`Signature Algorithm: ${sigAlg}`);
    expect(root.pkcs8).toBeInstanceOf(Uint8Array);
    expect(root.keyAlgorithm).toBe(algorithm);
  });

  it("issuing CA has pathlen 0 and an AKI equal to the root's SKI, and chains to the root", () => {
    expect(wd.ok(["verify", "-CAfile", "root.pem", "issuing.pem"])).toContain("issuing.pem: OK");
    const rootText = wd.ok(["x509", "-in", "root.pem", "-noout", "-ext", "subjectKeyIdentifier"]);
    const rootSki = rootText.split("\n")[1].trim();
    const text = wd.ok(["x509", "-in", "issuing.pem", "-noout", "-text"]);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toMatch(new RegExp(`X509v3 Authority Key Identifier:\\s+(keyid:)?${rootSki}`));
    expect(issuing.notAfter.getTime()).toBeLessThanOrEqual(root.notAfter.getTime());
  });

  const cases: { profile: ProfileId; purpose?: string; sans?: Parameters<typeof issueCertificate>[0]["sans"] }[] = [
    { profile: "device-client", purpose: "sslclient", sans: { uri: ["urn:certfleet:device:sensor-0042"] } },
    { profile: "broker-server", purpose: "sslserver", sans: { dns: ["mqtt.example.test"], ip: ["10.0.0.5", "fd00::5"] } },
    { profile: "ocsp-responder" },
  ];

  it.each(cases)("$profile certificate verifies under root + issuing and carries its extensions", async ({ profile, purpose, sans }) => {
    const keys = await generateKeyPair(algorithm === "RSA-2048" ? "RSA-2048" : "EC-P256");
    const issued = await issueCertificate({
      issuer: { certificate: issuing.certificate, signer: issuing.signer },
      profile,
      subject: { commonName: profile === "ocsp-responder" ? "OCSP Responder" : "sensor-0042", organization: "Acme, Inc." },
      sans,
      publicKey: keys.publicKey,
      urls: URLS,
      clock,
    });
    const leaf = wd.file(`${profile}.pem`, issued.pem);
    const verifyArgs = ["verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem"];
    expect(wd.ok([...verifyArgs, leaf])).toContain(": OK");
    if (purpose) expect(wd.ok([...verifyArgs, "-purpose", purpose, leaf])).toContain(": OK");

    const text = wd.ok(["x509", "-in", leaf, "-noout", "-text"]);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toContain("X509v3 Subject Key Identifier");
    expect(text).toContain("X509v3 Authority Key Identifier");
    expect(text).toContain(`CA Issuers - URI:${URLS.caIssuers}`);
    // The comma in the organization stays inside one attribute value.
    expect(wd.ok(["x509", "-in", leaf, "-noout", "-subject", "-nameopt", "RFC2253"])).toContain(
      profile === "ocsp-responder" ? "CN=OCSP Responder,O=Acme\\, Inc." : "CN=sensor-0042,O=Acme\\, Inc.",
    );
    const rsa = algorithm === "RSA-2048";
    if (profile === "ocsp-responder") {
      expect(text).toContain("OCSP Signing");
      expect(text).toContain("OCSP No Check");
      expect(text).not.toContain("CRL Distribution Points");
      expect(text).not.toContain("OCSP - URI");
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    } else {
      expect(text).toContain("X509v3 CRL Distribution Points");
      expect(text).toContain(`URI:${URLS.crl}`);
      expect(text).toContain(`OCSP - URI:${URLS.ocsp}`);
      expect(text).toMatch(
        rsa ? /Key Usage: critical\s+Digital Signature, Key Encipherment/ : /Key Usage: critical\s+Digital Signature, Key Agreement/,
      );
    }
    if (profile === "device-client") {
      expect(text).toContain("TLS Web Client Authentication");
      expect(text).toContain("URI:urn:certfleet:device:sensor-0042");
    }
    if (profile === "broker-server") {
      expect(text).toContain("TLS Web Server Authentication");
      expect(text).toMatch(/DNS:mqtt\.example\.test, IP Address:10\.0\.0\.5, IP Address:FD00:0:0:0:0:0:0:5/);
    }
    // Facts the service stores match what OpenSSL reads.
    expect(wd.ok(["x509", "-in", leaf, "-noout", "-serial"]).trim()).toBe(`serial=${issued.serialHex.toUpperCase()}`);
    expect(wd.ok(["x509", "-in", leaf, "-noout", "-fingerprint", "-sha256"]).trim().split("=")[1].replace(/:/g, "").toLowerCase()).toBe(
      issued.fingerprintSha256,
    );
    expect(issued.keyAlgorithm).toBe(rsa ? "RSA-2048" : "EC-P256");
  });
});

describe("serials, validity and refusals", () => {
  const wd = new Workdir();
  const clock = fixedClock("2030-06-15T12:00:00.789Z");
  let root: CreatedCa;
  let issuing: CreatedCa;
  let deviceKey: CryptoKeyPair;

  beforeAll(async () => {
    root = await createRootCa({ subject: "CN=Fixed Clock Root", clock });
    issuing = await createIssuingCa({ parent: root, subject: "CN=Fixed Clock Issuing", clock });
    deviceKey = await generateKeyPair("EC-P256");
    wd.file("root.pem", root.pem);
    wd.file("issuing.pem", issuing.pem);
  });
  afterAll(() => wd.dispose());

  const issue = (extra: Partial<Parameters<typeof issueCertificate>[0]> = {}) =>
    issueCertificate({
      issuer: issuing,
      profile: "device-client",
      subject: { commonName: "dev-1" },
      publicKey: deviceKey.publicKey,
      urls: URLS,
      clock,
      ...extra,
    });

  it("serials are random, positive, 16 octets and different per certificate", async () => {
    const serials = await Promise.all(Array.from({ length: 20 }, () => issue().then((c) => c.serialHex)));
    expect(new Set(serials).size).toBe(20);
    for (const s of serials) {
      expect(s).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(s.slice(0, 2)).not.toBe("00");
      expect(BigInt(`0x${s}`) >= 1n << 64n).toBe(true);
    }
    const one = await issue();
    wd.file("serial.pem", one.pem);
    const asn1 = wd.ok(["asn1parse", "-in", "serial.pem"]);
    // The TBS serial is a 16-octet positive INTEGER (OpenSSL would print "-" for a negative one).
    expect(asn1).toMatch(new RegExp(`prim:\\s+INTEGER\\s+:${one.serialHex.toUpperCase()}`));
    expect(wd.ok(["x509", "-in", "serial.pem", "-noout", "-serial"])).not.toContain("-");
  });

  it("backdates notBefore by 5 minutes to whole seconds and counts validity from it", async () => {
    const cert = await issue();
    expect(cert.notBefore.toISOString()).toBe("2030-06-15T11:55:00.000Z");
    expect(cert.notAfter.toISOString()).toBe("2031-06-15T11:55:00.000Z");
    wd.file("fixed.pem", cert.pem);
    expect(wd.ok(["x509", "-in", "fixed.pem", "-noout", "-startdate"]).trim()).toBe("notBefore=Jun 15 11:55:00 2030 GMT");
    const at = String(Date.parse("2030-06-15T12:00:00Z") / 1000);
    expect(wd.ok(["verify", "-attime", at, "-CAfile", "root.pem", "-untrusted", "issuing.pem", "fixed.pem"])).toContain("OK");
    expect((await issue({ validityDays: 10 })).notAfter.toISOString()).toBe("2030-06-25T11:55:00.000Z");
  });

  it("caps notAfter at the issuer's notAfter (leaf under issuing CA, issuing CA under root)", async () => {
    const shortCa = await createIssuingCa({ parent: root, subject: "CN=Short Issuing", validityDays: 30, clock });
    const leaf = await issueCertificate({
      issuer: shortCa,
      profile: "device-client",
      subject: { commonName: "dev-2" },
      publicKey: deviceKey.publicKey,
      urls: URLS,
      clock,
    });
    expect(leaf.notAfter.getTime()).toBe(shortCa.notAfter.getTime());
    const longCa = await createIssuingCa({ parent: root, subject: "CN=Long Issuing", validityDays: 50 * 366, clock });
    expect(longCa.notAfter.getTime()).toBe(root.notAfter.getTime());
  });

  it("takes a fixed serial for tests in canonical form", async () => {
    expect((await issue({ serial: "01AB" })).serialHex).toBe("01ab");
    expect((await issue({ serial: "80:01" })).serialHex).toBe("008001");
  });

  it("refuses bad requests with clear codes", async () => {
    await expectPkiError(issue({ profile: "broker-server" }), "INVALID_INPUT"); // no SAN
    const ipOnDevice = await expectPkiError(issue({ sans: { ip: ["10.1.1.1"] } }), "INVALID_INPUT");
    expect(ipOnDevice.message).toMatch(/cannot carry IP/);
    await expectPkiError(issue({ profile: "broker-server", sans: { dns: ["bad host"] } }), "INVALID_INPUT");
    await expectPkiError(issue({ profile: "ocsp-responder", validityDays: 365 }), "INVALID_INPUT");
    await expectPkiError(issue({ subject: { commonName: "" } }), "INVALID_INPUT");
    await expectPkiError(issue({ urls: { ...URLS, crl: "ldap://x" } }), "INVALID_INPUT");
    // The root certificate with the issuing CA's key: the signer does not belong to the issuer.
    await expectPkiError(issue({ issuer: { certificate: root.certificate, signer: issuing.signer } }), "SIGNER_MISMATCH");
    // A leaf cannot issue.
    const leaf = await issue();
    await expectPkiError(issue({ issuer: { certificate: leaf.certificate, signer: issuing.signer } }), "INVALID_INPUT");
    // An RSA-1024 device key is refused by policy.
    const weak = (await webcrypto.subtle.generateKey(
      { ...ALGORITHM_PARAMS["RSA-2048"].keyGen, modulusLength: 1024 } as RsaHashedKeyGenParams,
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const policy = await expectPkiError(issue({ publicKey: weak.publicKey }), "KEY_POLICY");
    expect(policy.message).toContain("RSA-1024");
    // An expired issuer cannot issue.
    await expectPkiError(issue({ clock: fixedClock("2045-01-01T00:00:00Z") }), "ISSUER_EXPIRED");
  });
});

describe("an external (HSM-style) signer", () => {
  it("needs nothing but the Signer interface to create and use a CA", async () => {
    const wd = new Workdir();
    try {
      // Stands in for a PKCS#11 key: private key material never leaves node:crypto's KeyObject,
      // and sign() returns X.509-form (DER) ECDSA signatures as the interface requires.
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
      const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
      const publicKey = await webcrypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-384" }, true, ["verify"]);
      let calls = 0;
      const hsm: Signer = {
        algorithm: "EC-P384",
        publicKey: publicKey as CryptoKey,
        signatureOid: "1.2.840.10045.4.3.3",
        async sign(data) {
          calls++;
          return new Uint8Array(nodeSign("sha384", data, { key: createPrivateKey(privateKey.export({ type: "pkcs8", format: "pem" })), dsaEncoding: "der" }));
        },
      };
      const clock = fixedClock(Date.now());
      const root = await createRootCa({ subject: "CN=HSM Root", signer: hsm, clock });
      expect(root.pkcs8).toBeUndefined();
      const issuing = await createIssuingCa({ parent: root, subject: "CN=Soft Issuing", clock });
      const keys = await generateKeyPair("EC-P256");
      const leaf = await issueCertificate({
        issuer: issuing,
        profile: "device-client",
        subject: { commonName: "d" },
        publicKey: keys.publicKey,
        urls: URLS,
        clock,
      });
      expect(calls).toBe(2);
      wd.file("root.pem", root.pem);
      wd.file("issuing.pem", issuing.pem);
      wd.file("leaf.pem", leaf.pem);
      expect(wd.ok(["verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "leaf.pem"])).toContain("leaf.pem: OK");

      // A signer whose key is not the certificate's is caught before anything is signed.
      const other = await createRootCa({ subject: "CN=Other", clock });
      await expectPkiError(createIssuingCa({ parent: { certificate: root.certificate, signer: other.signer }, subject: "CN=x", clock }), "SIGNER_MISMATCH");
    } finally {
      wd.dispose();
    }
  });
});
