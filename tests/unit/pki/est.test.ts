// The EST protocol pieces of lib/pki/est.ts, checked with the OpenSSL CLI.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estBase64, certsOnlyCms, csrAttributes, encodeOid, findClientCertificateIssuer, readEstCsrBody, subjectFields } from "@/lib/pki/est";
import { isPkiError, pemToDer } from "@/lib/pki";
import { Workdir } from "../../helpers/openssl";

describe("EST protocol pieces", () => {
  let work: Workdir;
  const der = (name: string) => pemToDer(work.read(name).toString(), "CERTIFICATE");

  beforeAll(() => {
    work = new Workdir();
    for (const ca of ["ca-a", "ca-b"]) {
      work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.pem`, "-subj", `/CN=${ca}`, "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE"]);
    }
    work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/O=Acme/CN=dev-1/serialNumber=SN-0042"]);
    work.ok(["x509", "-req", "-in", "leaf.csr", "-CA", "ca-a.pem", "-CAkey", "ca-a.key", "-CAcreateserial", "-days", "1", "-out", "leaf.pem"]);
  });
  afterAll(() => work.dispose());

  it("builds certs-only CMS that openssl pkcs7 reads back, certificates in order", () => {
    const cms = certsOnlyCms([der("ca-a.pem"), der("ca-b.pem")]);
    const printed = work.ok(["pkcs7", "-inform", "DER", "-in", work.file("p7.der", cms), "-print_certs"]);
    expect([...printed.matchAll(/subject=CN = (ca-[ab])/g)].map((m) => m[1])).toEqual(["ca-a", "ca-b"]);
    const text = estBase64(cms);
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(text, "base64").equals(Buffer.from(cms))).toBe(true);
  });

  it("encodes OIDs and the CSR attributes as DER openssl parses", () => {
    expect(Buffer.from(encodeOid("1.2.840.113549.1.7.2")).toString("hex")).toBe("06092a864886f70d010702");
    const parsed = work.ok(["asn1parse", "-inform", "DER", "-in", work.file("attrs.der", csrAttributes())]);
    expect(parsed).toMatch(/ecdsa-with-SHA256/);
    expect(parsed).toMatch(/prime256v1/);
    expect(parsed).toMatch(/secp384r1/);
    expect(parsed).toMatch(/rsaEncryption/);
  });

  it("reads base64 CSR bodies with or without line breaks, and refuses anything else", () => {
    const csrDer = pemToDer(work.read("leaf.csr").toString(), "CERTIFICATE REQUEST");
    const b64 = Buffer.from(csrDer).toString("base64");
    expect(Buffer.from(readEstCsrBody(Buffer.from(b64)) as Uint8Array).equals(Buffer.from(csrDer))).toBe(true);
    expect(Buffer.from(readEstCsrBody(Buffer.from(b64.replace(/.{64}/g, "$&\r\n"))) as Uint8Array).equals(Buffer.from(csrDer))).toBe(true);
    expect(typeof readEstCsrBody(work.read("leaf.csr"))).toBe("string");
    for (const bad of ["", "not base64!", "abc"]) {
      let error: unknown;
      try {
        readEstCsrBody(Buffer.from(bad));
      } catch (e) {
        error = e;
      }
      expect(isPkiError(error, "CSR_MALFORMED")).toBe(true);
    }
  });

  it("finds the CA that signed a client certificate, and none for a stranger", () => {
    const issuers = [{ certificateDer: der("ca-b.pem"), name: "b" }, { certificateDer: der("ca-a.pem"), name: "a" }];
    const found = findClientCertificateIssuer(der("leaf.pem"), issuers);
    expect(found?.issuer.name).toBe("a");
    expect(found!.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(findClientCertificateIssuer(der("leaf.pem"), [issuers[0]])).toBeNull();
    // Same name, other key: the signature decides.
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "fake.key", "-out", "fake.pem", "-subj", "/CN=ca-a", "-days", "2"]);
    expect(findClientCertificateIssuer(der("leaf.pem"), [{ certificateDer: der("fake.pem") }])).toBeNull();
    expect(findClientCertificateIssuer(Uint8Array.of(1, 2, 3), issuers)).toBeNull();
    expect(subjectFields(der("leaf.pem"))).toMatchObject({ commonName: "dev-1", serialNumber: "SN-0042" });
  });
});
