// The direct-DER issuance path (tbs.ts): certificates checked by OpenSSL, by @peculiar/x509's parser,
// and byte for byte against what the previous @peculiar/x509 generator path produced.
import { createECDH, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, webcrypto } from "node:crypto";
import * as asn1js from "asn1js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createIssuingCa,
  createRootCa,
  CryptoKeySigner,
  exportSpki,
  fixedClock,
  generateKeyPair,
  issueCertificate,
  pemToDer,
  PkiError,
  type CreatedCa,
  type KeyAlgorithm,
  type ProfileId,
  type Signer,
  type SubjectAltNames,
} from "@/lib/pki";
import { authorityKeyIdentifier } from "@/lib/pki/ca";
import { encodeOid, readTlv, tlv } from "@/lib/pki/der";
import { classifySpki, classifySpkiFully } from "@/lib/pki/key-policy";
import type { IssuedCertificate } from "@/lib/pki/issue";
import { getProfile, OID_OCSP_NOCHECK } from "@/lib/pki/profiles";
import { signCertificate } from "@/lib/pki/sign-certificate";
import { encodeCertificate, encodeGeneralNames, ipAddressBytes } from "@/lib/pki/tbs";
import {
  AuthorityInfoAccessExtension,
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  CRLDistributionPointsExtension,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsagesExtension,
  Name,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  type JsonGeneralName,
  type JsonNameParams,
} from "@/lib/pki/x509";
import { Workdir } from "../../helpers/openssl";
import { expectPkiError } from "../../helpers/pki-errors";

const URLS = {
  crl: "http://pki.example.test/pki/crl/issuing-1.crl",
  ocsp: "http://pki.example.test/pki/ocsp/issuing-1",
  caIssuers: "http://pki.example.test/pki/ca/issuing-1.cer",
};
const NOW = "2031-03-10T08:30:15.250Z";

const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  ski: "2.5.29.14",
  aki: "2.5.29.35",
  san: "2.5.29.17",
  cdp: "2.5.29.31",
  aia: "1.3.6.1.5.5.7.1.1",
  ocspNoCheck: OID_OCSP_NOCHECK,
};


/** The TBSCertificate element of a certificate, as bytes. */
function tbsOf(der: Uint8Array): Uint8Array {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.start, cert.end);
  return der.slice(tbs.offset, tbs.end);
}

/** The same certificate through the previous path: @peculiar/x509's generator with the extensions issue.ts used to build. */
async function referenceCertificate(issuing: CreatedCa, issued: IssuedCertificate, spki: Uint8Array, sans: SubjectAltNames, subject: { commonName: string; organization?: string }) {
  const profile = getProfile(issued.profile);
  const names: JsonGeneralName[] = [
    ...(sans.dns ?? []).map((value) => ({ type: "dns" as const, value })),
    // @peculiar/x509 mis-encodes a dotted IPv4 tail ("::ffff:192.0.2.1" became ...ffff:0192), so
    // the reference gets the same address in hex groups.
    ...(sans.ip ?? []).map((value) => ({ type: "ip" as const, value: value === "::ffff:192.0.2.1" ? "::ffff:c000:201" : value })),
    ...(sans.uri ?? []).map((value) => ({ type: "url" as const, value })),
  ];
  const extensions: Extension[] = [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(profile.keyUsage(issued.keyAlgorithm), true),
    new ExtendedKeyUsageExtension(profile.extendedKeyUsages, false),
    await SubjectKeyIdentifierExtension.create(spki.slice(), false),
    await authorityKeyIdentifier(issuing.certificate),
  ];
  if (names.length) extensions.push(new SubjectAlternativeNameExtension(names, false));
  if (profile.revocationPointers) {
    extensions.push(new CRLDistributionPointsExtension([URLS.crl], false));
    extensions.push(new AuthorityInfoAccessExtension({ ocsp: URLS.ocsp, caIssuers: URLS.caIssuers }, false));
  } else {
    extensions.push(new AuthorityInfoAccessExtension({ caIssuers: URLS.caIssuers }, false));
  }
  if (profile.ocspNoCheck) extensions.push(new Extension(OID_OCSP_NOCHECK, false, new Uint8Array([5, 0])));
  const rdns: JsonNameParams = [
    ...(subject.organization ? [{ O: [{ utf8String: subject.organization }] }] : []),
    { CN: [{ utf8String: subject.commonName }] },
  ];
  const cert = await signCertificate({
    issuerName: issuing.certificate.subjectName,
    signer: issuing.signer,
    subjectName: new Name(rdns),
    subjectPublicKey: spki,
    serial: Buffer.from(issued.serialHex, "hex"),
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
    extensions,
  });
  return new Uint8Array(cert.rawData);
}

interface Case {
  name: string;
  profile: ProfileId;
  keyAlgorithm: KeyAlgorithm;
  subject: { commonName: string; organization?: string };
  sans: SubjectAltNames;
  purpose?: string;
}

const CASES: Case[] = [
  { name: "device-client without SANs", profile: "device-client", keyAlgorithm: "EC-P256", subject: { commonName: "sensor-0001" }, sans: {}, purpose: "sslclient" },
  {
    name: "device-client with DNS and URI SANs",
    profile: "device-client",
    keyAlgorithm: "EC-P384",
    subject: { commonName: "sensor, \"north\" + 0002", organization: "Acme, Inc." },
    sans: { dns: ["sensor-0002.devices.example.test"], uri: ["urn:certfleet:device:sensor-0002", "spiffe://fleet/device/0002"] },
    purpose: "sslclient",
  },
  {
    name: "broker-server with DNS and IP SANs",
    profile: "broker-server",
    keyAlgorithm: "RSA-2048",
    subject: { commonName: "mqtt.example.test", organization: "Ünïcødé GmbH" },
    sans: { dns: ["mqtt.example.test", "*.mqtt.example.test"], ip: ["10.0.0.5", "fd00::5", "::ffff:192.0.2.1"] },
    purpose: "sslserver",
  },
  { name: "ocsp-responder", profile: "ocsp-responder", keyAlgorithm: "EC-P256", subject: { commonName: "OCSP Responder", organization: "Acme" }, sans: {} },
];

describe.each<KeyAlgorithm>(["EC-P256", "EC-P384", "RSA-2048"])("direct-DER issuance under a %s CA", (caAlgorithm) => {
  const wd = new Workdir();
  const clock = fixedClock(NOW);
  let root: CreatedCa;
  let issuing: CreatedCa;

  beforeAll(async () => {
    root = await createRootCa({ subject: `CN=Fast Root ${caAlgorithm}, O=CertFleet Tests`, algorithm: caAlgorithm, clock });
    issuing = await createIssuingCa({ parent: root, subject: `CN=Fast Issuing ${caAlgorithm}, O=CertFleet Tests`, algorithm: caAlgorithm, clock });
    wd.file("root.pem", root.pem);
    wd.file("issuing.pem", issuing.pem);
  });
  afterAll(() => wd.dispose());

  it.each(CASES)("$name: OpenSSL verifies it and every field is what was asked", async (c) => {
    const keys = await generateKeyPair(c.keyAlgorithm);
    const spki = await exportSpki(keys.publicKey);
    const serial = "3a5f00c1d2e3f40516273849aabbccdd";
    const issued = await issueCertificate({
      issuer: { certificate: issuing.der, signer: issuing.signer },
      profile: c.profile,
      subject: c.subject,
      sans: c.sans,
      publicKey: spki,
      urls: URLS,
      clock,
      serial,
    });
    const file = wd.file(`${c.profile}-${c.keyAlgorithm}.pem`, issued.pem);
    const verify = ["verify", "-attime", String(Math.floor(Date.parse(NOW) / 1000)), "-CAfile", "root.pem", "-untrusted", "issuing.pem"];
    expect(wd.ok([...verify, file])).toContain(": OK");
    if (c.purpose) expect(wd.ok([...verify, "-purpose", c.purpose, file])).toContain(": OK");

    // What the service stores.
    expect(issued.serialHex).toBe(serial);
    expect(issued.notBefore.toISOString()).toBe("2031-03-10T08:25:15.000Z");
    const days = getProfile(c.profile).defaultValidityDays;
    expect(issued.notAfter.getTime()).toBe(issued.notBefore.getTime() + days * 86_400_000);
    expect(issued.keyAlgorithm).toBe(c.keyAlgorithm);
    expect(issued.fingerprintSha256).toBe(createHash("sha256").update(issued.der).digest("hex"));
    expect(Buffer.from(pemToDer(issued.pem, "CERTIFICATE")).equals(Buffer.from(issued.der))).toBe(true);

    // @peculiar/x509's parser.
    const cert = issued.certificate;
    expect(Buffer.from(cert.rawData).equals(Buffer.from(issued.der))).toBe(true);
    expect(cert.serialNumber).toBe(serial);
    expect(cert.subject).toBe(issued.subject);
    expect(cert.subjectName.getField("CN")).toEqual([c.subject.commonName]);
    expect(cert.subjectName.getField("O")).toEqual(c.subject.organization ? [c.subject.organization] : []);
    expect(cert.issuer).toBe(issuing.certificate.subject);
    expect(cert.notBefore.getTime()).toBe(issued.notBefore.getTime());
    expect(cert.notAfter.getTime()).toBe(issued.notAfter.getTime());
    expect(Buffer.from(cert.publicKey.rawData).equals(Buffer.from(spki))).toBe(true);
    expect(await cert.verify({ publicKey: issuing.certificate.publicKey, signatureOnly: true })).toBe(true);
    const expectedOids = [
      OID.basicConstraints,
      OID.keyUsage,
      OID.extKeyUsage,
      OID.ski,
      OID.aki,
      ...(Object.keys(c.sans).length ? [OID.san] : []),
      ...(c.profile === "ocsp-responder" ? [OID.aia, OID.ocspNoCheck] : [OID.cdp, OID.aia]),
    ];
    expect(cert.extensions.map((e) => e.type)).toEqual(expectedOids);
    expect(cert.extensions.filter((e) => e.critical).map((e) => e.type)).toEqual([OID.basicConstraints, OID.keyUsage]);
    expect(cert.getExtension(BasicConstraintsExtension)!.ca).toBe(false);
    expect(cert.getExtension(KeyUsagesExtension)!.usages).toBe(getProfile(c.profile).keyUsage(c.keyAlgorithm));
    expect(cert.getExtension(ExtendedKeyUsageExtension)!.usages).toEqual(getProfile(c.profile).extendedKeyUsages);
    expect(cert.getExtension(SubjectKeyIdentifierExtension)!.keyId).toBe((await SubjectKeyIdentifierExtension.create(spki.slice())).keyId);
    expect(cert.getExtension(AuthorityKeyIdentifierExtension)!.keyId).toBe(issuing.certificate.getExtension(SubjectKeyIdentifierExtension)!.keyId);
    const sanNames = cert.getExtension(SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
    expect(sanNames.map((n) => `${n.type}:${n.value}`)).toEqual([
      ...(c.sans.dns ?? []).map((v) => `dns:${v}`),
      ...(c.sans.ip ?? []).map((v) => `ip:${v === "::ffff:192.0.2.1" ? "::ffff:c000:201" : v}`),
      ...(c.sans.uri ?? []).map((v) => `url:${v}`),
    ]);

    // OpenSSL's reading of the same fields.
    const text = wd.ok(["x509", "-in", file, "-noout", "-text", "-nameopt", "RFC2253,-esc_msb"]);
    expect(wd.ok(["x509", "-in", file, "-noout", "-serial"]).trim()).toBe(`serial=${serial.toUpperCase()}`);
    expect(wd.ok(["x509", "-in", file, "-noout", "-startdate"]).trim()).toBe("notBefore=Mar 10 08:25:15 2031 GMT");
    const rfc2253 = (v: string) => v.replace(/([,+"\\<>;])/g, "\\$1");
    const subjectLine = [`CN=${rfc2253(c.subject.commonName)}`, ...(c.subject.organization ? [`O=${rfc2253(c.subject.organization)}`] : [])].join(",");
    expect(wd.ok(["x509", "-in", file, "-noout", "-subject", "-nameopt", "RFC2253,-esc_msb"]).trim()).toBe(`subject=${subjectLine}`);
    expect(wd.ok(["asn1parse", "-in", file]).match(/UTF8STRING/g)?.length).toBe(c.subject.organization ? 2 : 1);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    if (c.profile === "broker-server") {
      expect(text).toContain(
        "DNS:mqtt.example.test, DNS:*.mqtt.example.test, IP Address:10.0.0.5, IP Address:FD00:0:0:0:0:0:0:5, IP Address:0:0:0:0:0:FFFF:C000:201",
      );
    }
    if (c.sans.uri) expect(text).toContain("DNS:sensor-0002.devices.example.test, URI:urn:certfleet:device:sensor-0002, URI:spiffe://fleet/device/0002");
    if (!Object.keys(c.sans).length) expect(text).not.toContain("Subject Alternative Name");
    if (c.profile === "ocsp-responder") {
      expect(text).toContain("OCSP No Check");
      expect(text).not.toContain("CRL Distribution Points");
    } else {
      expect(text).toContain(`URI:${URLS.crl}`);
      expect(text).toContain(`OCSP - URI:${URLS.ocsp}`);
    }
    expect(text).toContain(`CA Issuers - URI:${URLS.caIssuers}`);

    // Byte for byte what the @peculiar/x509 path encodes (ECDSA signatures are randomised, so
    // compare the signed part; PKCS#1 v1.5 is deterministic, so RSA certificates are identical).
    const reference = await referenceCertificate(issuing, issued, spki, c.sans, c.subject);
    if (caAlgorithm.startsWith("RSA-")) expect(Buffer.from(issued.der).equals(Buffer.from(reference))).toBe(true);
    else expect(Buffer.from(tbsOf(issued.der)).equals(Buffer.from(tbsOf(reference)))).toBe(true);
  });

  it("accepts the issuer as DER, PEM or a parsed certificate, with the same result", async () => {
    const spki = await exportSpki((await generateKeyPair("EC-P256")).publicKey);
    const tbs = await Promise.all(
      [issuing.der, issuing.pem, issuing.certificate].map(async (certificate) =>
        tbsOf(
          (
            await issueCertificate({
              issuer: { certificate, signer: issuing.signer },
              profile: "device-client",
              subject: { commonName: "same" },
              publicKey: spki,
              urls: URLS,
              clock,
              serial: "01",
            })
          ).der,
        ),
      ),
    );
    expect(Buffer.from(tbs[0]).equals(Buffer.from(tbs[1]))).toBe(true);
    expect(Buffer.from(tbs[0]).equals(Buffer.from(tbs[2]))).toBe(true);
  });
});

describe("validity encoding around 2050", () => {
  it("writes UTCTime before 2050 and GeneralizedTime from 2050, in whole seconds", async () => {
    const wd = new Workdir();
    try {
      const clock = fixedClock("2049-12-01T00:02:03.999Z");
      const root = await createRootCa({ subject: "CN=Late Root", clock });
      const issuing = await createIssuingCa({ parent: root, subject: "CN=Late Issuing", clock });
      const keys = await generateKeyPair("EC-P256");
      const issued = await issueCertificate({ issuer: issuing, profile: "device-client", subject: { commonName: "late" }, publicKey: keys.publicKey, urls: URLS, clock });
      expect(issued.notBefore.toISOString()).toBe("2049-11-30T23:57:03.000Z");
      expect(issued.notAfter.toISOString()).toBe("2050-11-30T23:57:03.000Z");
      wd.file("root.pem", root.pem);
      wd.file("issuing.pem", issuing.pem);
      wd.file("leaf.pem", issued.pem);
      const asn = wd.ok(["asn1parse", "-in", "leaf.pem"]);
      expect(asn).toMatch(/UTCTIME\s+:491130235703Z/);
      expect(asn).toMatch(/GENERALIZEDTIME\s+:20501130235703Z/);
      expect(wd.ok(["x509", "-in", "leaf.pem", "-noout", "-enddate"]).trim()).toBe("notAfter=Nov 30 23:57:03 2050 GMT");
      const at = String(Date.parse("2050-06-01T00:00:00Z") / 1000);
      expect(wd.ok(["verify", "-attime", at, "-CAfile", "root.pem", "-untrusted", "issuing.pem", "leaf.pem"])).toContain("leaf.pem: OK");
      expect(issued.certificate.notAfter.toISOString()).toBe("2050-11-30T23:57:03.000Z");
    } finally {
      wd.dispose();
    }
  });
});

describe("DER writer", () => {
  const header = (len: number) => Buffer.from(tlv(0x04, new Uint8Array(len)).subarray(0, 6)).toString("hex");

  it("uses the short form below 128 and the minimal long form from 128", () => {
    expect(header(0).slice(0, 4)).toBe("0400");
    expect(header(127).slice(0, 4)).toBe("047f");
    expect(header(128).slice(0, 6)).toBe("048180");
    expect(header(255).slice(0, 6)).toBe("0481ff");
    expect(header(256).slice(0, 8)).toBe("04820100");
    expect(header(65535).slice(0, 8)).toBe("0482ffff");
    expect(header(65536).slice(0, 10)).toBe("0483010000");
    expect(header(0x1000000).slice(0, 12)).toBe("048401000000");
    for (const len of [0, 1, 127, 128, 129, 255, 256, 4095, 65535, 65536, 70000]) {
      const el = tlv(0x30, tlv(0x04, new Uint8Array(len).fill(0xab)));
      const outer = readTlv(el, 0);
      expect(outer.end).toBe(el.length);
      const inner = readTlv(el, outer.start, outer.end);
      expect(inner.end - inner.start).toBe(len);
      // asn1js (an independent encoder) re-encodes it to the same bytes: the lengths are minimal.
      const parsed = asn1js.fromBER(el);
      expect(parsed.offset).toBe(el.length);
      expect(Buffer.from(parsed.result.toBER()).equals(Buffer.from(el))).toBe(true);
    }
  });

  it("writes long SAN lists and certificates with long-form lengths that OpenSSL reads", async () => {
    const wd = new Workdir();
    try {
      const clock = fixedClock(NOW);
      const root = await createRootCa({ subject: "CN=Long Root", clock });
      const issuing = await createIssuingCa({ parent: root, subject: "CN=Long Issuing", clock });
      const dns = Array.from({ length: 1250 }, (_, i) => `host-${String(i).padStart(4, "0")}.a-rather-long-subdomain-name.example.test`);
      const names = encodeGeneralNames(dns.map((value) => ({ kind: "dns", value })));
      expect(names.length).toBeGreaterThan(65536);
      expect(names[1]).toBe(0x83); // three length octets
      const issued = await issueCertificate({
        issuer: issuing,
        profile: "broker-server",
        subject: { commonName: "many names" },
        sans: { dns },
        publicKey: (await generateKeyPair("EC-P256")).publicKey,
        urls: URLS,
        clock,
      });
      expect(issued.der[1]).toBe(0x83);
      wd.file("root.pem", root.pem);
      wd.file("issuing.pem", issuing.pem);
      wd.file("leaf.pem", issued.pem);
      const at = String(Math.floor(Date.parse(NOW) / 1000));
      expect(wd.ok(["verify", "-attime", at, "-CAfile", "root.pem", "-untrusted", "issuing.pem", "leaf.pem"])).toContain("leaf.pem: OK");
      const text = wd.ok(["x509", "-in", "leaf.pem", "-noout", "-ext", "subjectAltName"]);
      expect(text.match(/DNS:/g)?.length).toBe(1250);
      expect(issued.certificate.getExtension(SubjectAlternativeNameExtension)!.names.items.length).toBe(1250);
    } finally {
      wd.dispose();
    }
  });

  it("wraps a signature into a Certificate", () => {
    const der = encodeCertificate(Uint8Array.of(0x30, 0), Uint8Array.of(0x30, 0), new Uint8Array(300).fill(1));
    // 2 + 2 + (4 + 1 + 300) = 309 = 0x135 content octets; the BIT STRING has 0x12d and 0 unused bits.
    expect(Buffer.from(der.subarray(0, 13)).toString("hex")).toBe("30820135300030000382012d00");
    expect(der.length).toBe(4 + 309);
  });

  it("encodes object identifiers as asn1js does", () => {
    for (const oid of ["1.2.840.10045.4.3.2", "1.2.840.113549.1.1.11", "2.5.29.17", "0.9.2342.19200300.100.1.25", "2.999.3", "2.25.329800735698586629295641978511506172918"]) {
      expect(Buffer.from(encodeOid(oid)).toString("hex")).toBe(Buffer.from(new asn1js.ObjectIdentifier({ value: oid }).toBER()).toString("hex"));
    }
    expect(() => encodeOid("1.40")).toThrow(PkiError);
    expect(() => encodeOid("3.1")).toThrow(PkiError);
    expect(() => encodeOid("1")).toThrow(PkiError);
  });

  it("encodes IPv4 and IPv6 addresses, including :: and embedded IPv4, and refuses zone ids", () => {
    const hex = (ip: string) => Buffer.from(ipAddressBytes(ip)).toString("hex");
    expect(hex("10.0.0.5")).toBe("0a000005");
    expect(hex("::")).toBe("0".repeat(32));
    expect(hex("::1")).toBe(`${"0".repeat(30)}01`);
    expect(hex("fd00::5")).toBe("fd000000000000000000000000000005");
    expect(hex("1:2:3:4:5:6:7::")).toBe("00010002000300040005000600070000");
    expect(hex("2001:DB8:0:0:1::1")).toBe("20010db8000000000001000000000001");
    expect(hex("::ffff:192.0.2.1")).toBe("00000000000000000000ffffc0000201");
    expect(hex("64:ff9b::192.0.2.33")).toBe("0064ff9b0000000000000000c0000221");
    expect(() => ipAddressBytes("fe80::1%eth0")).toThrow(PkiError);
    expect(() => ipAddressBytes("10.0.0.256")).toThrow(PkiError);
    expect(() => ipAddressBytes("1:2:3:4:5:6:7:8:9")).toThrow(PkiError);
  });
});

describe("subject names and keys", () => {
  let issuing: CreatedCa;
  let spki: Uint8Array;
  const clock = fixedClock(NOW);
  beforeAll(async () => {
    const root = await createRootCa({ subject: "CN=Names Root", clock });
    issuing = await createIssuingCa({ parent: root, subject: "CN=Names Issuing", clock });
    spki = await exportSpki((await generateKeyPair("EC-P256")).publicKey);
  });
  const issue = (extra: Partial<Parameters<typeof issueCertificate>[0]>) =>
    issueCertificate({ issuer: issuing, profile: "device-client", subject: { commonName: "x" }, publicKey: spki, urls: URLS, clock, ...extra });

  it("reports the subject string exactly as @peculiar/x509 prints it", async () => {
    const values = ["a,b", "a+b", " leading", "#hash", "trailing ", 'quo"te', "back\\slash", "<>;=", "Ünïcødé 😀", "x"];
    for (const commonName of values) {
      for (const organization of [undefined, "Acme, Inc.", "#1 + co "]) {
        const issued = await issue({ subject: { commonName, organization } });
        expect(issued.subject).toBe(new X509Certificate(issued.der.slice()).subject);
        expect(issued.certificate.subjectName.getField("CN")).toEqual([commonName]);
      }
    }
  });

  it("refuses text that cannot be encoded faithfully", async () => {
    await expectPkiError(issue({ subject: { commonName: "bad\uD800surrogate" } }), "INVALID_INPUT");
    await expectPkiError(issue({ sans: { uri: ["urn:dévice:1"] } }), "INVALID_INPUT");
    await expectPkiError(issue({ sans: { uri: ["urn:a b"] } }), "INVALID_INPUT");
    await expectPkiError(issue({ profile: "broker-server", sans: { ip: ["fe80::1%eth0"] } }), "INVALID_INPUT");
    // Trailing bytes after the SubjectPublicKeyInfo would be copied into the certificate verbatim.
    const padded = Uint8Array.from([...spki, 0]);
    await expectPkiError(issue({ publicKey: padded }), "INVALID_INPUT");
  });

  it("classifies the common EC encodings without ASN.1 parsing, as the full check would", async () => {
    for (const algorithm of ["EC-P256", "EC-P384", "RSA-2048"] as const) {
      const key = await exportSpki((await generateKeyPair(algorithm)).publicKey);
      const fast = classifySpki(key);
      expect(fast).toEqual(classifySpkiFully(key));
      expect(fast.keyAlgorithm).toBe(algorithm);
    }
    // A compressed P-256 point has a different length: the full policy check answers (and refuses it).
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const compressedSpki = Buffer.concat([Buffer.from("3039301306072a8648ce3d020106082a8648ce3d030107032200", "hex"), ecdh.getPublicKey(null, "compressed")]);
    expect(() => classifySpki(compressedSpki)).toThrow(/uncompressed point/);
  });

  it("exportSpki gives the same bytes as WebCrypto", async () => {
    for (const algorithm of ["EC-P256", "EC-P384", "RSA-2048"] as const) {
      const keys = await generateKeyPair(algorithm);
      const viaWebCrypto = new Uint8Array(await webcrypto.subtle.exportKey("spki", keys.publicKey));
      expect(Buffer.from(await exportSpki(keys.publicKey)).equals(Buffer.from(viaWebCrypto))).toBe(true);
    }
  });
});

describe("signer checks on the fast path", () => {
  const clock = fixedClock(NOW);
  let root: CreatedCa;
  let issuing: CreatedCa;
  let deviceKey: CryptoKey;
  beforeAll(async () => {
    root = await createRootCa({ subject: "CN=Signer Root", clock });
    issuing = await createIssuingCa({ parent: root, subject: "CN=Signer Issuing", clock });
    deviceKey = (await generateKeyPair("EC-P256")).publicKey;
  });
  const issueWith = (signer: Signer) =>
    issueCertificate({ issuer: { certificate: issuing.der, signer }, profile: "device-client", subject: { commonName: "d" }, publicKey: deviceKey, urls: URLS, clock });

  /** An HSM-style signer over the issuing CA's public key whose sign() is supplied by the test. */
  const hsm = (sign: (data: Uint8Array) => Uint8Array, overrides: Partial<Signer> = {}): Signer => ({
    algorithm: "EC-P256",
    publicKey: issuing.signer.publicKey,
    signatureOid: "1.2.840.10045.4.3.2",
    async sign(data) {
      return sign(data);
    },
    ...overrides,
  });

  it("verifies every signature of a non-local signer", async () => {
    const wrongKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    let honest = true;
    const good = createPrivateKey({ key: Buffer.from(issuing.pkcs8!), format: "der", type: "pkcs8" });
    const flaky = hsm((data) => new Uint8Array(nodeSign("sha256", data, { key: honest ? good : wrongKey, dsaEncoding: "der" })));
    await issueWith(flaky);
    honest = false;
    await expectPkiError(issueWith(flaky), "SIGNER_MISMATCH"); // caught although the first one was fine
    await expectPkiError(issueWith(hsm(() => Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01))), "SIGNER_MISMATCH");
    await expectPkiError(issueWith(hsm(() => new Uint8Array(64))), "SIGNER_MISMATCH");
  });

  it("refuses a signer declaring another algorithm than its key's, and a key that is not the issuer's", async () => {
    const sign = () => new Uint8Array(0);
    await expectPkiError(issueWith(hsm(sign, { signatureOid: "1.2.840.10045.4.3.3" })), "SIGNER_MISMATCH");
    await expectPkiError(issueWith(hsm(sign, { algorithm: "EC-P384", signatureOid: "1.2.840.10045.4.3.3" })), "SIGNER_MISMATCH");
    // Accepted once for one signer does not vouch for another on the same issuer.
    await issueWith(issuing.signer);
    await expectPkiError(issueWith(root.signer), "SIGNER_MISMATCH");
  });

  it("catches a local signer built from a mismatched key pair, every time", async () => {
    const other = await generateKeyPair("EC-P256");
    const mismatched = new CryptoKeySigner("EC-P256", other.privateKey, issuing.signer.publicKey);
    await expectPkiError(issueWith(mismatched), "SIGNER_MISMATCH");
    await expectPkiError(issueWith(mismatched), "SIGNER_MISMATCH");
  });

  it("CryptoKeySigner signs DER ECDSA / PKCS#1 v1.5 as plain Uint8Arrays and refuses keys of the wrong kind", async () => {
    for (const algorithm of ["EC-P256", "EC-P384", "RSA-2048"] as const) {
      const keys = await generateKeyPair(algorithm);
      const signer = new CryptoKeySigner(algorithm, keys.privateKey, keys.publicKey);
      const data = new TextEncoder().encode("to be signed");
      const signature = await signer.sign(data);
      expect(Object.getPrototypeOf(signature)).toBe(Uint8Array.prototype);
      expect(signature.byteOffset).toBe(0);
      expect(signature.buffer.byteLength).toBe(signature.length);
      const hash = algorithm === "EC-P384" ? "sha384" : "sha256";
      const publicKey = createPublicKey({ key: Buffer.from(await exportSpki(keys.publicKey)), format: "der", type: "spki" });
      expect(nodeVerify(hash, data, { key: publicKey, dsaEncoding: "der" }, signature)).toBe(true);
    }
    const p384 = await generateKeyPair("EC-P384");
    expect(() => new CryptoKeySigner("EC-P256", p384.privateKey, p384.publicKey)).toThrow(PkiError);
    expect(() => new CryptoKeySigner("EC-P384", p384.publicKey, p384.publicKey)).toThrow(PkiError);
    const rsa = await generateKeyPair("RSA-2048");
    expect(() => new CryptoKeySigner("EC-P256", rsa.privateKey, rsa.publicKey)).toThrow(PkiError);
  });
});
