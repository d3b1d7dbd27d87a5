// CSR intake: CSRs made by `openssl req`, accepted or refused with the right code.
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { tlv } from "@/lib/pki/der";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIssuingCa, createRootCa, issueCertificate, parseCsr, PkiError, type ParsedCsr } from "@/lib/pki";
import { Workdir } from "../../helpers/openssl";

const wd = new Workdir();
afterAll(() => wd.dispose());

/** `openssl req -new -newkey …` into name.csr (PEM) with its key in name.key. */
function makeCsr(name: string, newkey: string[], extra: string[] = []): string {
  wd.ok(["req", "-new", ...newkey, "-nodes", "-subj", "/CN=x", "-keyout", `${name}.key`, "-out", `${name}.csr`, ...extra]);
  return wd.read(`${name}.csr`).toString();
}

async function refusal(input: string | Uint8Array): Promise<PkiError> {
  const err = await parseCsr(input).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PkiError);
  return err as PkiError;
}

function derOf(name: string): Uint8Array {
  wd.ok(["req", "-in", `${name}.csr`, "-outform", "DER", "-out", `${name}.der`]);
  return new Uint8Array(wd.read(`${name}.der`));
}

describe("parseCsr accepts", () => {
  let p256: ParsedCsr;
  beforeAll(async () => {
    makeCsr("p256", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    p256 = await parseCsr(wd.read("p256.csr").toString());
  });

  it("an EC P-256 CSR from openssl req (PEM), exposing its SPKI unchanged", () => {
    expect(p256.keyAlgorithm).toBe("EC-P256");
    expect(p256.keyBits).toBe(256);
    expect(p256.subject).toBe("CN=x");
    expect(p256.requestedExtensions).toEqual([]);
    const opensslSpki = wd.ok(["req", "-in", "p256.csr", "-noout", "-pubkey"]);
    expect(Buffer.from(p256.publicKey).toString("base64")).toBe(
      opensslSpki.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""),
    );
  });

  it("the same CSR as DER bytes", async () => {
    const parsed = await parseCsr(derOf("p256"));
    expect(Buffer.from(parsed.publicKey).equals(Buffer.from(p256.publicKey))).toBe(true);
  });

  it("EC P-384 and RSA-2048 CSRs, listing but ignoring harmless requested extensions", async () => {
    makeCsr("p384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], ["-addext", "subjectAltName=DNS:evil.example"]);
    const p384 = await parseCsr(wd.read("p384.csr"));
    expect(p384.keyAlgorithm).toBe("EC-P384");
    expect(p384.requestedExtensions).toEqual([{ oid: "2.5.29.17", name: "subjectAltName", critical: false }]);

    makeCsr("rsa2048", ["-newkey", "rsa:2048"], ["-addext", "keyUsage=critical,digitalSignature,keyEncipherment", "-addext", "basicConstraints=CA:FALSE"]);
    const rsa = await parseCsr(wd.read("rsa2048.csr").toString());
    expect(rsa.keyAlgorithm).toBe("RSA-2048");
    expect(rsa.keyBits).toBe(2048);
    expect(rsa.requestedExtensions.map((e) => e.name).sort()).toEqual(["basicConstraints", "keyUsage"]);
  });

  it("a CSR whose key then gets a certificate that OpenSSL matches to the CSR key", async () => {
    const root = await createRootCa({ subject: "CN=CSR Root" });
    const issuing = await createIssuingCa({ parent: root, subject: "CN=CSR Issuing" });
    const cert = await issueCertificate({
      issuer: issuing,
      profile: "device-client",
      subject: { commonName: "from-csr" },
      publicKey: p256.publicKey,
      urls: { crl: "http://h/crl", ocsp: "http://h/ocsp", caIssuers: "http://h/ca" },
    });
    wd.file("from-csr.pem", cert.pem);
    expect(wd.ok(["x509", "-in", "from-csr.pem", "-noout", "-pubkey"])).toBe(wd.ok(["pkey", "-in", "p256.key", "-pubout"]));
    // Subject comes from the device record, not from the CSR.
    expect(wd.ok(["x509", "-in", "from-csr.pem", "-noout", "-subject"]).trim()).toBe("subject=CN = from-csr");
  });
});

describe("parseCsr refuses", () => {
  beforeAll(() => {
    makeCsr("base", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
  });

  it("garbage, empty input, the wrong PEM type and trailing bytes as CSR_MALFORMED", async () => {
    expect((await refusal(new Uint8Array(randomBytes(200)))).code).toBe("CSR_MALFORMED");
    expect((await refusal(new Uint8Array())).code).toBe("CSR_MALFORMED");
    expect((await refusal("hello, I am a CSR")).code).toBe("CSR_MALFORMED");
    const wrongType = await refusal("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n");
    expect(wrongType.code).toBe("CSR_MALFORMED");
    expect(wrongType.message).toContain("CERTIFICATE REQUEST");
    const der = derOf("base");
    expect((await refusal(Uint8Array.from([...der, 0]))).code).toBe("CSR_MALFORMED");
    expect((await refusal(new Uint8Array(randomBytes(100 * 1024)))).message).toMatch(/larger than/);
  });

  it("truncated DER as CSR_MALFORMED", async () => {
    const der = derOf("base");
    for (const cut of [1, 10, Math.floor(der.length / 2), der.length - 1]) {
      const err = await refusal(der.subarray(0, cut));
      expect(err.code).toBe("CSR_MALFORMED");
    }
  });

  it("a flipped byte in the signature or in the signed data as CSR_SIGNATURE_INVALID", async () => {
    const der = derOf("base");
    const sig = der.slice();
    sig[sig.length - 1] ^= 0x01; // last byte of s
    const err = await refusal(sig);
    expect(err.code).toBe("CSR_SIGNATURE_INVALID");
    expect(err.message).toMatch(/proof of possession/);

    const subject = der.slice();
    const at = Buffer.from(subject).indexOf(Buffer.from([0x0c, 0x01, 0x78])); // UTF8String "x"
    expect(at).toBeGreaterThan(0);
    subject[at + 2] = 0x79; // "x" -> "y"
    expect((await refusal(subject)).code).toBe("CSR_SIGNATURE_INVALID");

    makeCsr("rsa-tamper", ["-newkey", "rsa:2048"]);
    const rsa = derOf("rsa-tamper");
    rsa[rsa.length - 5] ^= 0x80;
    expect((await refusal(rsa)).code).toBe("CSR_SIGNATURE_INVALID");
  });

  it("decodes the informational subject only when read, refusing an undecodable one then", async () => {
    // A correctly signed request whose subject is a SEQUENCE but no Name (SEQUENCE { INTEGER 5 }).
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const info = tlv(0x30, Uint8Array.of(0x02, 0x01, 0x00), tlv(0x30, Uint8Array.of(0x02, 0x01, 0x05)), publicKey.export({ type: "spki", format: "der" }), Uint8Array.of(0xa0, 0x00));
    const signature = sign("sha256", info, { key: privateKey, dsaEncoding: "der" });
    const ecdsaWithSha256 = Uint8Array.of(0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02);
    const der = tlv(0x30, info, ecdsaWithSha256, tlv(0x03, Uint8Array.of(0), signature));
    const parsed = await parseCsr(der);
    expect(parsed.keyAlgorithm).toBe("EC-P256");
    expect(() => parsed.subject).toThrow(expect.objectContaining({ code: "CSR_MALFORMED", message: expect.stringMatching(/subject name cannot be decoded/) }));
  });

  it("refuses an EC public key that is not a point on its curve before any signature check", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const spki = publicKey.export({ type: "spki", format: "der" });
    spki[spki.length - 1] ^= 0x01; // Y changed: (X, Y') is off the curve
    const info = tlv(0x30, Uint8Array.of(0x02, 0x01, 0x00), tlv(0x30), spki, Uint8Array.of(0xa0, 0x00));
    const ecdsaWithSha256 = Uint8Array.of(0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02);
    const der = tlv(0x30, info, ecdsaWithSha256, tlv(0x03, Uint8Array.of(0), sign("sha256", info, { key: privateKey, dsaEncoding: "der" })));
    const err = await refusal(der);
    expect(err.code).toBe("CSR_MALFORMED");
    expect(err.message).toMatch(/not a point on the curve/);
  });

  it("a SHA-1 signed CSR as CSR_SIGNATURE_INVALID", async () => {
    makeCsr("sha1", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], ["-sha1"]);
    const err = await refusal(wd.read("sha1.csr").toString());
    expect(err.code).toBe("CSR_SIGNATURE_INVALID");
    expect(err.message).toContain("SHA-1");
  });

  it.each([
    { name: "rsa1024", newkey: ["-newkey", "rsa:1024"], says: "RSA-1024" },
    { name: "p521", newkey: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"], says: "P-521" },
    { name: "k256", newkey: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"], says: "secp256k1" },
    { name: "ed25519", newkey: ["-newkey", "ed25519"], says: "Ed25519" },
    { name: "ed448", newkey: ["-newkey", "ed448"], says: "Ed448" },
  ])("a $says key as KEY_POLICY naming the algorithm", async ({ name, newkey, says }) => {
    const err = await refusal(makeCsr(name, newkey));
    expect(err.code).toBe("KEY_POLICY");
    expect(err.message).toContain(says);
    expect(err.message).toMatch(/accepted keys are EC P-256, EC P-384 and RSA/);
  });

  it("requests for CA powers as CSR_FORBIDDEN_EXTENSION, naming what was asked", async () => {
    const ca = await refusal(makeCsr("ca", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], ["-addext", "basicConstraints=critical,CA:TRUE"]));
    expect(ca.code).toBe("CSR_FORBIDDEN_EXTENSION");
    expect(ca.message).toContain("CA:TRUE");

    const ku = await refusal(makeCsr("ku", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], ["-addext", "keyUsage=digitalSignature,keyCertSign,cRLSign"]));
    expect(ku.code).toBe("CSR_FORBIDDEN_EXTENSION");
    expect(ku.message).toContain("keyCertSign and cRLSign");
  });
});
