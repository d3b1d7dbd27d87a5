// CRL generation checked by OpenSSL (signature, text dump, verify -crl_check) and by
// @peculiar/asn1-x509 / @peculiar/x509 as a second parser.
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AsnConvert } from "@peculiar/asn1-schema";
import { CRLReason, CertificateList, RevokedCertificate, id_ce_cRLReasons } from "@peculiar/asn1-x509";
import * as x509 from "@/lib/pki/x509";
import { PkiError } from "@/lib/pki/errors";
import { REVOCATION_REASONS, REVOCATION_REASON_NAMES } from "@/lib/pki/revocation-reasons";
import { buildCrl, crlToPem, encodeCrlEntry, type BuildCrlParams, type CrlEntryInput } from "@/lib/pki/crl-writer";
import { parseCrlInfo, verifyCrlSignature } from "@/lib/pki/crl-reader";
import type { Signer } from "@/lib/pki/signer";
import { revokedRecords } from "@/lib/services/crl";
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

describe("buildCrl from records (the bulk writer)", () => {
  // A seeded generator, so a failure names an input that can be replayed.
  function random(seed: number) {
    return () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
  }
  const hexOf = (rnd: () => number, bytes: number) => Array.from({ length: bytes }, () => Math.floor(rnd() * 256).toString(16).padStart(2, "0")).join("");
  const VALID_REASONS: CrlEntryInput["reason"][] = [undefined, null, 0, 1, 2, 3, 4, 5, 6, 9, 10, "keyCompromise", "superseded", "unspecified", "aACompromise"];
  const EDGE_TIMES = ["1949-12-31T23:59:59.999Z", "1950-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59.5Z", "2000-02-29T12:00:00Z", "2049-12-31T23:59:59.999Z", "2050-01-01T00:00:00Z", "2100-03-01T00:00:00Z", "1900-02-28T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"];

  function randomRecords(count: number, seed: number): CrlEntryInput[] {
    const rnd = random(seed);
    const out: CrlEntryInput[] = [];
    for (let i = 0; i < count; i++) {
      let serialHex: string;
      const kind = i % 10;
      if (kind < 4) serialHex = hexOf(rnd, 16); // CertFleet form (top bit may be set here: the writer must pad)
      else if (kind === 4) serialHex = `00${(0x80 + Math.floor(rnd() * 128)).toString(16)}${hexOf(rnd, 15)}`; // canonical with its sign pad
      else if (kind === 5) serialHex = hexOf(rnd, 1 + Math.floor(rnd() * 20)).slice(1); // odd length
      else if (kind === 6) serialHex = hexOf(rnd, 8).toUpperCase().match(/../g)!.join(":"); // colon-separated, upper case
      else if (kind === 7) serialHex = `0000${hexOf(rnd, 1 + Math.floor(rnd() * 18))}`; // leading zero bytes
      else if (kind === 8) serialHex = ["0", "00", "0000", "1", "7f", "80", "ff", "0100", "00:ff", " 0a0b "][Math.floor(rnd() * 10)];
      else serialHex = hexOf(rnd, 20).replace(/^[0-7]/, "8"); // 20 octets with the top bit set: 21-byte INTEGER
      const revokedAt = i % 50 === 0 ? new Date(EDGE_TIMES[(i / 50) % EDGE_TIMES.length]) : new Date(Date.UTC(1940, 0, 1) + Math.floor(rnd() * 150 * 365.25 * DAY));
      out.push({ serialHex, revokedAt, reason: VALID_REASONS[Math.floor(rnd() * VALID_REASONS.length)] });
    }
    return out;
  }

  // ECDSA signatures are randomised; a fixed one makes two CRLs over the same TBS byte-identical.
  const fixedSigner = (pki: TestPki): Signer => ({ ...pki.issuing.signer, signatureOid: pki.issuing.signer.signatureOid, sign: async () => Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01) });

  it("writes exactly the bytes encodeCrlEntry does, for 20,000 random records", async () => {
    for (const seed of [1, 2, 3]) {
      const records = randomRecords(20_000 / 3, seed);
      const signer = fixedSigner(ec);
      const fast = await buildCrl(params(ec, { signer, revoked: records }));
      const reference = await buildCrl(params(ec, { signer, entries: records.map(encodeCrlEntry) }));
      expect(Buffer.compare(fast, reference), `seed ${seed}`).toBe(0);
    }
  });

  it("produces a CRL OpenSSL verifies, with every entry's serial, date and reason as a second parser reads them", async () => {
    const records = randomRecords(1000, 7); // asn1js stops at 10,000 nodes
    const der = await buildCrl(params(ec, { crlNumber: 7n, revoked: records }));
    const { derFile } = writeCrl(ec, "records", der);
    expect(openssl(["crl", "-inform", "DER", "-in", derFile, "-CAfile", ec.chainFile, "-noout"]).out).toContain("verify OK");
    const text = openssl(["crl", "-inform", "DER", "-in", derFile, "-noout", "-text"]).out;
    expect(text.match(/Serial Number: /g)).toHaveLength(records.length);
    const withReason = records.filter((r) => r.reason !== undefined && r.reason !== null && r.reason !== 0 && r.reason !== "unspecified");
    expect(text.match(/X509v3 CRL Reason Code:/g)).toHaveLength(withReason.length);
    expect(text.match(/Key Compromise/g)).toHaveLength(records.filter((r) => r.reason === 1 || r.reason === "keyCompromise").length);

    // @peculiar/asn1-x509 (asn1js underneath): an independent DER decoder.
    const list = AsnConvert.parse(der, CertificateList);
    const entries = list.tbsCertList.revokedCertificates!;
    expect(entries).toHaveLength(records.length);
    entries.forEach((entry, i) => {
      const r = records[i];
      const value = BigInt(`0x${r.serialHex.replace(/[^0-9a-f]/gi, "") || "0"}`);
      expect(BigInt(`0x${Buffer.from(entry.userCertificate).toString("hex")}`), `entry ${i}`).toBe(value);
      const year = r.revokedAt.getUTCFullYear();
      // asn1js reads GeneralizedTime years 0–99 as 1900–1999 (Date.UTC's rule); the bytes for
      // those are held to encodeCrlEntry's by the equality test above.
      if (year >= 100) expect(entry.revocationDate.getTime().getTime(), `entry ${i}`).toBe(Math.floor(r.revokedAt.getTime() / 1000) * 1000);
      expect(entry.revocationDate.utcTime !== undefined, `entry ${i}`).toBe(year >= 1950 && year < 2050);
      const code = typeof r.reason === "string" ? REVOCATION_REASONS[r.reason] : (r.reason ?? 0);
      if (code === 0) expect(entry.crlEntryExtensions, `entry ${i}`).toBeUndefined();
      else expect(AsnConvert.parse(entry.crlEntryExtensions![0].extnValue, CRLReason).reason, `entry ${i}`).toBe(code);
    });
  });

  it("handles 200,000 records with the right count and a valid signature", async () => {
    const records = randomRecords(200_000, 11).map((r, i) => ({ ...r, serialHex: (0x4000000000000000n + BigInt(i) * 7919n).toString(16) }));
    const der = await buildCrl(params(ec, { revoked: records }));
    expect(parseCrlInfo(der).count).toBe(200_000);
    expect(await verifyCrlSignature(der, ec.issuing.der)).toBe(true);
    const { derFile } = writeCrl(ec, "records-200k", der);
    expect(openssl(["crl", "-inform", "DER", "-in", derFile, "-CAfile", ec.chainFile, "-noout"]).out).toContain("verify OK");
  });

  it("refuses what encodeCrlEntry refuses, with the same errors", async () => {
    const bad: CrlEntryInput[] = [
      { serialHex: "xyz", revokedAt: now },
      { serialHex: "01g2", revokedAt: now },
      { serialHex: "0é", revokedAt: now },
      { serialHex: "", revokedAt: now },
      { serialHex: "01".repeat(21), revokedAt: now },
      { serialHex: "01", revokedAt: now, reason: 7 },
      { serialHex: "01", revokedAt: now, reason: 8 },
      { serialHex: "01", revokedAt: now, reason: 11 },
      { serialHex: "01", revokedAt: now, reason: 1.5 },
      { serialHex: "01", revokedAt: now, reason: "removeFromCRL" },
      { serialHex: "01", revokedAt: now, reason: "nope" as never },
      { serialHex: "01", revokedAt: new Date(NaN) },
      { serialHex: "01", revokedAt: new Date("-000001-01-01T00:00:00Z") },
    ];
    for (const r of bad) {
      let expected: unknown;
      try {
        encodeCrlEntry(r);
      } catch (e) {
        expected = e;
      }
      expect(expected, JSON.stringify(r)).toBeInstanceOf(PkiError);
      const error = await buildCrl(params(ec, { revoked: [{ serialHex: "01", revokedAt: now }, r] })).then(() => undefined, (e: unknown) => e);
      expect(error, JSON.stringify(r)).toBeInstanceOf(PkiError);
      expect((error as Error).message, JSON.stringify(r)).toBe((expected as Error).message);
    }
    await expect(buildCrl(params(ec, { revoked: [{ serialHex: "01", revokedAt: now }], entries: [encodeCrlEntry({ serialHex: "02", revokedAt: now })] }))).rejects.toThrow(/not both/);
  });
});

describe("revokedRecords (the CRL service's reader of the database aggregate)", () => {
  it("reads serial, whole seconds and reason, reusing one record", () => {
    const counted = { records: 0 };
    const seen: [string, string, number | null | undefined][] = [];
    let first: unknown;
    for (const r of revokedRecords("7f01,1793133210,1;00ff,0,;0a,-86400,10", counted)) {
      first ??= r;
      expect(r).toBe(first);
      seen.push([r.serialHex, r.revokedAt.toISOString(), r.reason as number | null]);
    }
    expect(seen).toEqual([
      ["7f01", "2026-10-27T20:33:30.000Z", 1],
      ["00ff", "1970-01-01T00:00:00.000Z", null],
      ["0a", "1969-12-31T00:00:00.000Z", 10],
    ]);
    expect(counted.records).toBe(3);
    expect([...revokedRecords("")]).toEqual([]);
  });

  it("feeds buildCrl the same CRL as the records as an array", async () => {
    const list = Array.from({ length: 3000 }, (_, i) => `${(0x40000000 + i * 7919).toString(16)},${1_700_000_000 + i * 37},${i % 7 === 6 ? "" : i % 6}`).join(";");
    const copies = list.split(";").map((e) => {
      const [serialHex, seconds, reason] = e.split(",");
      return { serialHex, revokedAt: new Date(Number(seconds) * 1000), reason: reason === "" ? null : Number(reason) };
    });
    const signer: Signer = { ...ec.issuing.signer, signatureOid: ec.issuing.signer.signatureOid, sign: async () => Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01) };
    const fromArray = await buildCrl(params(ec, { signer, revoked: copies }));
    // A wrong (small) count hint only makes the buffer grow.
    for (const revokedCount of [3000, 1]) {
      expect(Buffer.compare(await buildCrl(params(ec, { signer, revoked: revokedRecords(list), revokedCount })), fromArray)).toBe(0);
    }
  });

  it("refuses a malformed aggregate", () => {
    expect(() => [...revokedRecords("7f01,17931x3210,1")]).toThrow(/revocation time/);
    expect(() => [...revokedRecords("7f01;0a,1,1")]).toThrow(/malformed/);
    expect(() => [...revokedRecords("7f01,,1")]).toThrow(/revocation time/);
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
