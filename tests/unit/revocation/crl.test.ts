// CRL generation checked by OpenSSL (signature, text dump, verify -crl_check) and by
// @peculiar/asn1-x509 / @peculiar/x509 as a second parser.
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AsnConvert } from "@peculiar/asn1-schema";
import { CRLReason, RevokedCertificate, id_ce_cRLReasons } from "@peculiar/asn1-x509";
import * as x509 from "@/lib/pki/x509";
import { PkiError } from "@/lib/pki/errors";
import {
  REVOCATION_REASONS,
  REVOCATION_REASON_NAMES,
  buildCrl,
  crlToPem,
  encodeCrlEntry,
  parseCrlInfo,
  verifyCrlSignature,
  type BuildCrlParams,
} from "@/lib/pki/crl";
import { CDP_URI, OLD_CDP_URI, createTestPki, openssl, type TestPki } from "./fixtures";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

let ec: TestPki;
let rsa: TestPki;
const now = new Date();
now.setUTCMilliseconds(0);

beforeAll(async () => {
  [ec, rsa] = await Promise.all([createTestPki("EC-P256"), createTestPki("RSA-2048")]);
});
afterAll(() => {
  ec?.cleanup();
  rsa?.cleanup();
});

function params(pki: TestPki, overrides: Partial<BuildCrlParams> = {}): BuildCrlParams {
  return {
    issuerCertificate: pki.issuing.der,
    signer: pki.issuing.signer,
    crlNumber: 1n,
    thisUpdate: new Date(now.getTime() - 60_000),
    nextUpdate: new Date(now.getTime() + DAY),
    entries: [],
    idpUris: [CDP_URI],
    ...overrides,
  };
}

/** Writes DER and PEM next to each other; returns both paths. */
function writeCrl(pki: TestPki, name: string, der: Uint8Array) {
  const derFile = pki.file(`${name}.der`);
  const pemFile = pki.file(`${name}.pem`);
  writeFileSync(derFile, der);
  writeFileSync(pemFile, crlToPem(der));
  return { derFile, pemFile };
}

function verifyLeaf(pki: TestPki, crlPem: string, leafPem: string) {
  return openssl(["verify", "-crl_check", "-CRLfile", crlPem, "-CAfile", pki.chainFile, leafPem]);
}

describe("REVOCATION_REASONS", () => {
  it("maps RFC 5280 names and codes both ways", () => {
    expect(REVOCATION_REASONS.keyCompromise).toBe(1);
    expect(REVOCATION_REASONS.removeFromCRL).toBe(8);
    expect(REVOCATION_REASONS.aACompromise).toBe(10);
    expect(REVOCATION_REASON_NAMES[4]).toBe("superseded");
    expect(REVOCATION_REASON_NAMES[7]).toBeUndefined();
    expect(Object.keys(REVOCATION_REASONS)).toHaveLength(10);
  });
});

describe("encodeCrlEntry", () => {
  const decode = (der: Uint8Array) => AsnConvert.parse(der, RevokedCertificate);

  it("encodes serial, date and reasonCode as @peculiar/asn1-x509 reads them", () => {
    const revokedAt = new Date("2026-03-04T05:06:07.890Z");
    const entry = decode(encodeCrlEntry({ serialHex: "7F:01:02", revokedAt, reason: 1 }));
    expect(Buffer.from(entry.userCertificate).toString("hex")).toBe("7f0102");
    expect(entry.revocationDate.getTime().toISOString()).toBe("2026-03-04T05:06:07.000Z");
    expect(entry.revocationDate.utcTime).toBeDefined();
    expect(entry.crlEntryExtensions).toHaveLength(1);
    const ext = entry.crlEntryExtensions![0];
    expect(ext.extnID).toBe(id_ce_cRLReasons);
    expect(ext.critical).toBe(false);
    expect(AsnConvert.parse(ext.extnValue, CRLReason).reason).toBe(1);
  });

  it("pads serials with the top bit set and strips leading zero bytes", () => {
    expect(Buffer.from(decode(encodeCrlEntry({ serialHex: "ff01", revokedAt: now })).userCertificate).toString("hex")).toBe("00ff01");
    expect(Buffer.from(decode(encodeCrlEntry({ serialHex: "000001", revokedAt: now })).userCertificate).toString("hex")).toBe("01");
    expect(Buffer.from(decode(encodeCrlEntry({ serialHex: "ABC", revokedAt: now })).userCertificate).toString("hex")).toBe("0abc");
  });

  it("omits the extension for no reason and for unspecified", () => {
    expect(decode(encodeCrlEntry({ serialHex: "01", revokedAt: now })).crlEntryExtensions).toBeUndefined();
    expect(decode(encodeCrlEntry({ serialHex: "01", revokedAt: now, reason: 0 })).crlEntryExtensions).toBeUndefined();
    expect(encodeCrlEntry({ serialHex: "01", revokedAt: now, reason: "superseded" })).toEqual(
      encodeCrlEntry({ serialHex: "01", revokedAt: now, reason: 4 }),
    );
  });

  it("switches to GeneralizedTime from 2050", () => {
    const entry = decode(encodeCrlEntry({ serialHex: "01", revokedAt: new Date("2050-01-01T00:00:00Z") }));
    expect(entry.revocationDate.generalTime?.toISOString()).toBe("2050-01-01T00:00:00.000Z");
    expect(decode(encodeCrlEntry({ serialHex: "01", revokedAt: new Date("2049-12-31T23:59:59Z") })).revocationDate.utcTime).toBeDefined();
  });

  it("refuses bad input", () => {
    expect(() => encodeCrlEntry({ serialHex: "xyz", revokedAt: now })).toThrow(PkiError);
    expect(() => encodeCrlEntry({ serialHex: "", revokedAt: now })).toThrow(PkiError);
    expect(() => encodeCrlEntry({ serialHex: "01".repeat(21), revokedAt: now })).toThrow(PkiError);
    expect(() => encodeCrlEntry({ serialHex: "01", revokedAt: now, reason: 7 })).toThrow(PkiError);
    expect(() => encodeCrlEntry({ serialHex: "01", revokedAt: now, reason: 8 })).toThrow(/delta/);
    expect(() => encodeCrlEntry({ serialHex: "01", revokedAt: new Date(NaN) })).toThrow(PkiError);
  });
});

describe("buildCrl", () => {
  it("produces a CRL OpenSSL verifies and dumps with number, AKI, critical IDP and reasons", async () => {
    const revokedAt = new Date(now.getTime() - HOUR);
    const der = await buildCrl(
      params(ec, {
        crlNumber: 4242n,
        idpUris: [CDP_URI, OLD_CDP_URI, CDP_URI],
        entries: [
          encodeCrlEntry({ serialHex: ec.leaf1.cert.serialNumber, revokedAt, reason: "keyCompromise" }),
          encodeCrlEntry({ serialHex: "0123456789abcdef", revokedAt, reason: 4 }),
          encodeCrlEntry({ serialHex: "fedcba9876543210", revokedAt }),
        ],
      }),
    );
    const { derFile } = writeCrl(ec, "full", der);
    const check = openssl(["crl", "-inform", "DER", "-in", derFile, "-CAfile", ec.chainFile, "-noout"]);
    expect(check.out).toContain("verify OK");

    const text = openssl(["crl", "-inform", "DER", "-in", derFile, "-noout", "-text"]).out;
    expect(text).toContain("Version 2 (0x1)");
    expect(text).toMatch(/X509v3 CRL Number: \n\s+4242/);
    const ski = ec.issuing.cert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId.toUpperCase();
    expect(text).toMatch(new RegExp(`X509v3 Authority Key Identifier: \\n\\s+${ski.match(/../g)!.join(":")}\\n`));
    expect(text).toContain("X509v3 Issuing Distribution Point: critical");
    expect(text).toContain(`URI:${CDP_URI}`);
    expect(text).toContain(`URI:${OLD_CDP_URI}`);
    expect(text.split(`URI:${CDP_URI}`)).toHaveLength(2); // duplicates collapsed
    expect(text).toContain(`Serial Number: ${ec.leaf1.cert.serialNumber.toUpperCase()}`);
    expect(text).toContain("Key Compromise");
    expect(text).toContain("Superseded");
    expect(text.match(/Revocation Date: /g)).toHaveLength(3);
    const opensslDate = (d: Date) => d.toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, (_, day, mon, y, t) => `${mon} ${String(Number(day)).padStart(2, " ")} ${t} ${y} GMT`);
    expect(text).toContain(`Revocation Date: ${opensslDate(revokedAt)}`);
    expect(text).toContain(`Last Update: ${opensslDate(new Date(now.getTime() - 60_000))}`);
    expect(text).toContain(`Next Update: ${opensslDate(new Date(now.getTime() + DAY))}`);

    // Second parser.
    const crl = new x509.X509Crl(der.slice().buffer);
    expect(await crl.verify({ publicKey: ec.issuing.cert.publicKey })).toBe(true);
    expect(crl.entries.map((e) => [e.serialNumber, e.reason])).toEqual([
      [ec.leaf1.cert.serialNumber, x509.X509CrlReason.keyCompromise],
      ["0123456789abcdef", x509.X509CrlReason.superseded],
      ["fedcba9876543210", undefined],
    ]);
    expect(crl.issuer).toBe(ec.issuing.cert.subject);
  });

  it("makes openssl verify -crl_check reject the revoked leaf and accept the other", async () => {
    const der = await buildCrl(
      params(ec, { entries: [encodeCrlEntry({ serialHex: ec.leaf1.cert.serialNumber, revokedAt: now, reason: 1 })] }),
    );
    const { pemFile } = writeCrl(ec, "leaf1-revoked", der);
    const revoked = verifyLeaf(ec, pemFile, ec.leaf1.pemFile);
    expect(revoked.status).not.toBe(0);
    expect(revoked.out).toContain("certificate revoked");
    const good = verifyLeaf(ec, pemFile, ec.leaf2.pemFile);
    expect(good.status).toBe(0);
    expect(good.out).toContain(": OK");
  });

  it("keeps certificates in scope when the IDP lists an older URL too, and is out of scope otherwise", async () => {
    const entries = [encodeCrlEntry({ serialHex: ec.leaf1.cert.serialNumber, revokedAt: now, reason: 1 })];
    const both = writeCrl(ec, "both-urls", await buildCrl(params(ec, { entries, idpUris: [OLD_CDP_URI, CDP_URI] })));
    expect(verifyLeaf(ec, both.pemFile, ec.leaf1.pemFile).out).toContain("certificate revoked");
    // The BROKERS.md trap: an IDP that names none of the certificate's CDP URIs.
    const other = writeCrl(ec, "other-url", await buildCrl(params(ec, { entries, idpUris: [OLD_CDP_URI] })));
    const out = verifyLeaf(ec, other.pemFile, ec.leaf2.pemFile);
    expect(out.status).not.toBe(0);
    expect(out.out).toContain("different CRL scope");
  });

  it("builds a valid empty CRL (revokedCertificates omitted)", async () => {
    const der = await buildCrl(params(ec, { crlNumber: 0n }));
    const { derFile, pemFile } = writeCrl(ec, "empty", der);
    expect(openssl(["crl", "-inform", "DER", "-in", derFile, "-CAfile", ec.chainFile, "-noout"]).out).toContain("verify OK");
    expect(openssl(["crl", "-inform", "DER", "-in", derFile, "-noout", "-text"]).out).toContain("No Revoked Certificates.");
    expect(verifyLeaf(ec, pemFile, ec.leaf1.pemFile).status).toBe(0);
    const info = parseCrlInfo(der);
    expect(info.count).toBe(0);
    expect(info.number).toBe(0n);
    const crl = new x509.X509Crl(der.slice().buffer);
    expect(crl.entries).toHaveLength(0);
  });

  it("handles 10,000 entries (long-form lengths) with the right count", async () => {
    const entries = Array.from({ length: 10_000 }, (_, i) =>
      encodeCrlEntry({ serialHex: (0x10000000n + BigInt(i)).toString(16), revokedAt: new Date(now.getTime() - i * 1000), reason: i % 6 }),
    );
    entries.push(encodeCrlEntry({ serialHex: ec.leaf1.cert.serialNumber, revokedAt: now, reason: 1 }));
    const der = await buildCrl(params(ec, { crlNumber: 99n, entries }));
    const { derFile, pemFile } = writeCrl(ec, "big", der);
    expect(openssl(["crl", "-inform", "DER", "-in", derFile, "-CAfile", ec.chainFile, "-noout"]).out).toContain("verify OK");
    const text = openssl(["crl", "-inform", "DER", "-in", derFile, "-noout", "-text"]).out;
    expect(text.match(/Serial Number: /g)).toHaveLength(10_001);
    expect(verifyLeaf(ec, pemFile, ec.leaf1.pemFile).out).toContain("certificate revoked");
    expect(verifyLeaf(ec, pemFile, ec.leaf2.pemFile).status).toBe(0);
    expect(parseCrlInfo(der).count).toBe(10_001);
    expect(await verifyCrlSignature(der, ec.issuing.der)).toBe(true);
    // @peculiar/x509's X509Crl cannot read this one: asn1js stops at 10,000 nodes by default.
    expect(() => new x509.X509Crl(der.slice().buffer)).toThrow(/node count/);
  });

  it("signs with RSA using sha256WithRSAEncryption and NULL parameters", async () => {
    const der = await buildCrl(
      params(rsa, { entries: [encodeCrlEntry({ serialHex: rsa.leaf1.cert.serialNumber, revokedAt: now, reason: 1 })] }),
    );
    const { derFile, pemFile } = writeCrl(rsa, "rsa", der);
    expect(openssl(["crl", "-inform", "DER", "-in", derFile, "-CAfile", rsa.chainFile, "-noout"]).out).toContain("verify OK");
    expect(verifyLeaf(rsa, pemFile, rsa.leaf1.pemFile).out).toContain("certificate revoked");
    expect(verifyLeaf(rsa, pemFile, rsa.leaf2.pemFile).status).toBe(0);
    // AlgorithmIdentifier { 1.2.840.113549.1.1.11, NULL }
    const algId = Buffer.from("300d06092a864886f70d01010b0500", "hex");
    expect(Buffer.from(der).indexOf(algId)).toBeGreaterThan(0);
    // ECDSA: no parameters.
    const ecDer = Buffer.from(await buildCrl(params(ec)));
    expect(ecDer.indexOf(Buffer.from("300a06082a8648ce3d040302", "hex"))).toBeGreaterThan(0);
  });

  it("copies the issuer name bytes verbatim and uses GeneralizedTime after 2049", async () => {
    const der = await buildCrl(
      params(ec, { thisUpdate: new Date("2049-12-31T23:00:00Z"), nextUpdate: new Date("2050-01-07T00:00:00Z"), crlNumber: 2n ** 150n }),
    );
    const info = parseCrlInfo(der);
    expect(Buffer.from(info.issuerDer).toString("hex")).toBe(Buffer.from(ec.issuing.cert.subjectName.toArrayBuffer()).toString("hex"));
    expect(info.thisUpdate.toISOString()).toBe("2049-12-31T23:00:00.000Z");
    expect(info.nextUpdate?.toISOString()).toBe("2050-01-07T00:00:00.000Z");
    expect(info.number).toBe(2n ** 150n);
    const { derFile } = writeCrl(ec, "gentime", der);
    const text = openssl(["crl", "-inform", "DER", "-in", derFile, "-noout", "-text"]).out;
    expect(text).toContain("Next Update: Jan  7 00:00:00 2050 GMT");
    expect(Buffer.from(der).indexOf(Buffer.from("180f3230353030313037303030303030", "hex"))).toBeGreaterThan(0);
  });

  it("accepts the issuer as a parsed X509Certificate", async () => {
    const der = await buildCrl(params(ec, { issuerCertificate: ec.issuing.cert }));
    expect(await verifyCrlSignature(der, ec.issuing.cert)).toBe(true);
  });

  it("refuses inconsistent parameters", async () => {
    await expect(buildCrl(params(ec, { nextUpdate: new Date(now.getTime() - 60_000) }))).rejects.toThrow(/nextUpdate/);
    await expect(buildCrl(params(ec, { idpUris: [] }))).rejects.toThrow(/Distribution Point/);
    await expect(buildCrl(params(ec, { idpUris: ["not a uri"] }))).rejects.toThrow(/URI/);
    await expect(buildCrl(params(ec, { crlNumber: 2n ** 160n }))).rejects.toThrow(/20 octets/);
    await expect(buildCrl(params(ec, { crlNumber: -1n }))).rejects.toThrow(PkiError);
    await expect(buildCrl(params(ec, { entries: [Uint8Array.of(2, 1, 1)] }))).rejects.toThrow(/encodeCrlEntry/);
  });
});

describe("parseCrlInfo and verifyCrlSignature", () => {
  it("reads number, dates, count, AKI and IDP URIs", async () => {
    const der = await buildCrl(
      params(ec, {
        crlNumber: 17n,
        entries: [encodeCrlEntry({ serialHex: "01", revokedAt: now }), encodeCrlEntry({ serialHex: "02", revokedAt: now })],
        idpUris: [CDP_URI, OLD_CDP_URI],
      }),
    );
    const info = parseCrlInfo(der);
    expect(info.number).toBe(17n);
    expect(info.count).toBe(2);
    expect(info.thisUpdate.getTime()).toBe(now.getTime() - 60_000);
    expect(info.nextUpdate?.getTime()).toBe(now.getTime() + DAY);
    expect(info.idpUris).toEqual([CDP_URI, OLD_CDP_URI]);
    expect(info.authorityKeyIdHex).toBe(ec.issuing.cert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
    expect(info.signatureOid).toBe("1.2.840.10045.4.3.2");
  });

  it("verifies the issuer's signature and rejects tampering or another issuer", async () => {
    const der = await buildCrl(params(ec, { entries: [encodeCrlEntry({ serialHex: "01", revokedAt: now })] }));
    expect(await verifyCrlSignature(der, ec.issuing.der)).toBe(true);
    expect(await verifyCrlSignature(der, ec.root.der)).toBe(false);
    expect(await verifyCrlSignature(der, rsa.issuing.der)).toBe(false);
    const tampered = der.slice();
    tampered[tampered.length - 80] ^= 1;
    expect(await verifyCrlSignature(tampered, ec.issuing.der)).toBe(false);
    expect(await verifyCrlSignature(der.subarray(0, der.length - 1), ec.issuing.der)).toBe(false);
    const rsaDer = await buildCrl(params(rsa));
    expect(await verifyCrlSignature(rsaDer, rsa.issuing.der)).toBe(true);
  });

  it("throws on garbage", () => {
    expect(() => parseCrlInfo(Uint8Array.of(1, 2, 3))).toThrow();
    expect(() => parseCrlInfo(new Uint8Array())).toThrow();
  });
});

describe("crlToPem", () => {
  it("uses the X509 CRL label OpenSSL expects", async () => {
    const der = await buildCrl(params(ec));
    const pem = crlToPem(der);
    expect(pem.startsWith("-----BEGIN X509 CRL-----\n")).toBe(true);
    expect(pem.split("\n").every((l) => l.length <= 64)).toBe(true);
    const back = openssl(["crl", "-outform", "DER"], pem);
    expect(back.status).toBe(0);
  });
});
