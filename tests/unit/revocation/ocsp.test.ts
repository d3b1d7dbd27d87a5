// OCSP responder core checked against requests made by `openssl ocsp` and responses verified by it
// (chain, delegated responder, nonce), with pkijs as a second parser.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import {
  OcspRequestError,
  buildOcspResponse,
  decodeOcspGetPath,
  issuerMatcher,
  ocspCacheKey,
  ocspErrorResponse,
  parseOcspRequest,
  type OcspCertStatus,
  type OcspErrorStatus,
  type OcspRequestInfo,
} from "@/lib/pki/ocsp";
import { PkiError } from "@/lib/pki/errors";
import { readTlv } from "@/lib/pki/der";
import { createTestPki, openssl, type Issued, type TestPki } from "./fixtures";

const OID_SHA1 = "1.3.14.3.2.26";
const OID_SHA256 = "2.16.840.1.101.3.4.2.1";
const HOUR = 3600_000;

let ec: TestPki;
let rsa: TestPki;
let counter = 0;

beforeAll(async () => {
  [ec, rsa] = await Promise.all([createTestPki("EC-P256"), createTestPki("RSA-2048")]);
});
afterAll(() => {
  ec?.cleanup();
  rsa?.cleanup();
});

/** `openssl ocsp -reqout` for the given leaves; returns the request file and its bytes. */
function makeRequest(pki: TestPki, leaves: Issued[], extra: string[] = []) {
  const file = pki.file(`req-${++counter}.der`);
  const args = ["ocsp", "-issuer", pki.issuing.pemFile, ...extra];
  for (const leaf of leaves) args.push("-cert", leaf.pemFile);
  const r = openssl([...args, "-reqout", file]);
  expect(r.status, r.out).toBe(0);
  return { file, der: new Uint8Array(readFileSync(file)) };
}

async function respond(
  pki: TestPki,
  request: OcspRequestInfo,
  statusOf: (serialHex: string) => OcspCertStatus,
  options: { nonce?: Uint8Array | null; includeResponderCert?: boolean; responder?: Issued } = {},
) {
  const now = new Date();
  const responder = options.responder ?? pki.responder;
  const der = await buildOcspResponse({
    responderCertificate: responder.der,
    signer: responder.signer,
    producedAt: now,
    responses: request.requests.map((certId) => ({
      certId,
      status: statusOf(certId.serialHex),
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + HOUR),
    })),
    nonce: options.nonce === null ? undefined : (options.nonce ?? request.nonce),
    includeResponderCert: options.includeResponderCert,
  });
  const file = pki.file(`resp-${++counter}.der`);
  writeFileSync(file, der);
  return { file, der };
}

/** Checks a response for the given leaves the way a client would (fresh CertIDs, no nonce). */
function checkForCerts(pki: TestPki, respFile: string, leaves: Issued[], extra: string[] = []) {
  const args = ["ocsp", "-respin", respFile, "-issuer", pki.issuing.pemFile, "-CAfile", pki.chainFile, "-no_nonce", ...extra];
  for (const leaf of leaves) args.push("-cert", leaf.pemFile);
  return openssl(args);
}

const revokedLeaf1 =
  (pki: TestPki) =>
  (serialHex: string): OcspCertStatus =>
    serialHex === pki.leaf1.cert.serialNumber
      ? { type: "revoked", revokedAt: new Date(Date.now() - HOUR), reason: "keyCompromise" }
      : serialHex === pki.leaf2.cert.serialNumber
        ? { type: "good" }
        : { type: "unknown" };

describe("parseOcspRequest", () => {
  it("reads an OpenSSL request: SHA-1 CertID, serial, nonce and the exact CertID bytes", () => {
    const { der } = makeRequest(ec, [ec.leaf1]);
    const req = parseOcspRequest(der);
    expect(req.requests).toHaveLength(1);
    const [item] = req.requests;
    expect(item.hashAlgorithmOid).toBe(OID_SHA1);
    expect(item.issuerNameHash).toHaveLength(20);
    expect(item.serialHex).toBe(ec.leaf1.cert.serialNumber);
    expect(Buffer.from(der).indexOf(Buffer.from(item.certIdDer))).toBeGreaterThan(0);
    // OpenSSL wraps a 16-byte nonce in an OCTET STRING inside extnValue.
    expect(req.nonce).toHaveLength(18);
    expect(req.nonce![0]).toBe(0x04);
    expect(req.nonce![1]).toBe(16);
  });

  it("reads -no_nonce and -sha256 requests with several certificates", () => {
    const { der } = makeRequest(ec, [ec.leaf1, ec.leaf2], ["-no_nonce", "-sha256"]);
    const req = parseOcspRequest(der);
    expect(req.nonce).toBeUndefined();
    expect(req.requests.map((r) => r.hashAlgorithmOid)).toEqual([OID_SHA256, OID_SHA256]);
    expect(req.requests.map((r) => r.serialHex)).toEqual([ec.leaf1.cert.serialNumber, ec.leaf2.cert.serialNumber]);
    expect(req.requests[0].issuerKeyHash).toHaveLength(32);
  });

  it("rejects garbage, empty, truncated, trailing junk, zero requests and non-OCSP DER as malformedRequest", () => {
    const { der } = makeRequest(ec, [ec.leaf1]);
    const cases: Record<string, Uint8Array> = {
      empty: new Uint8Array(),
      garbage: new Uint8Array(Buffer.from("GET / HTTP/1.1\r\n\r\n")),
      random: new Uint8Array(createHash("sha512").update("x").digest()),
      truncated: der.subarray(0, der.length - 5),
      "header only": der.subarray(0, 2),
      "trailing junk": new Uint8Array([...der, 0x00]),
      "trailing element": new Uint8Array([...der, 0x05, 0x00]),
      "zero requests": Uint8Array.of(0x30, 0x04, 0x30, 0x02, 0x30, 0x00),
      "a certificate": ec.leaf1.der,
      "a bare NULL": Uint8Array.of(0x05, 0x00),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      let error: unknown;
      try {
        parseOcspRequest(bytes);
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(OcspRequestError);
      expect((error as OcspRequestError).status, name).toBe("malformedRequest");
      expect((error as PkiError).code, name).toBe("OCSP_malformedRequest");
    }
  });

  it("reports serials in CertFleet's form (serial.ts): minimal content octets, 00 only as a sign pad", () => {
    const { der } = makeRequest(ec, [ec.leaf1], ["-no_nonce"]);
    const certId = pkijs.CertID.fromBER(parseOcspRequest(der).requests[0].certIdDer.slice());
    const withSerial = (content: number[]) => {
      certId.serialNumber = new asn1js.Integer({ valueHex: Uint8Array.from(content).buffer });
      const request = new pkijs.OCSPRequest({
        tbsRequest: new pkijs.TBSRequest({ requestList: [new pkijs.Request({ reqCert: certId })] }),
      });
      return parseOcspRequest(new Uint8Array(request.toSchema(true).toBER())).requests[0].serialHex;
    };
    expect(withSerial([0x00, 0xff, 0x01])).toBe("00ff01");
    expect(withSerial([0x00, 0x00, 0x7f])).toBe("7f");
    expect(withSerial([0x01, 0x02])).toBe("0102");
    expect(withSerial([0xff, 0x01])).toBe("ff01"); // negative: never equal to a padded positive serial
  });

  it("enforces the RFC 9654 nonce size (1..128 octets)", () => {
    const { der } = makeRequest(ec, [ec.leaf1], ["-no_nonce"]);
    const certIdDer = parseOcspRequest(der).requests[0].certIdDer;
    const withNonce = (nonce: Uint8Array) => {
      const request = new pkijs.OCSPRequest({
        tbsRequest: new pkijs.TBSRequest({
          requestList: [new pkijs.Request({ reqCert: new pkijs.CertID({ schema: asn1js.fromBER(certIdDer.slice()).result }) })],
          requestExtensions: [
            new pkijs.Extension({
              extnID: "1.3.6.1.5.5.7.48.1.2",
              extnValue: new asn1js.OctetString({ valueHex: nonce.slice().buffer }).toBER(),
            }),
          ],
        }),
      });
      return new Uint8Array(request.toSchema(true).toBER());
    };
    expect(parseOcspRequest(withNonce(new Uint8Array(32).fill(7))).nonce).toHaveLength(34);
    expect(parseOcspRequest(withNonce(new Uint8Array(128).fill(7))).nonce).toHaveLength(131);
    expect(() => parseOcspRequest(withNonce(new Uint8Array(129)))).toThrow(OcspRequestError);
    expect(() => parseOcspRequest(withNonce(new Uint8Array(0)))).toThrow(OcspRequestError);
  });
});

describe("issuerMatcher and ocspCacheKey", () => {
  it("matches SHA-1 and SHA-256 CertIDs of the issuing CA only", () => {
    const sha1 = parseOcspRequest(makeRequest(ec, [ec.leaf1]).der).requests[0];
    const sha256 = parseOcspRequest(makeRequest(ec, [ec.leaf1], ["-sha256"]).der).requests[0];
    const isEcIssuing = issuerMatcher(ec.issuing.der);
    expect(isEcIssuing(sha1)).toBe(true);
    expect(isEcIssuing(sha256)).toBe(true);
    expect(issuerMatcher(ec.issuing.cert)(sha256)).toBe(true);
    expect(issuerMatcher(ec.root.der)(sha1)).toBe(false);
    expect(issuerMatcher(rsa.issuing.der)(sha1)).toBe(false);
    expect(isEcIssuing({ ...sha1, hashAlgorithmOid: "1.2.3.4" })).toBe(false);
    // A request about the other CA's leaf, sent to this CA.
    const foreign = parseOcspRequest(makeRequest(rsa, [rsa.leaf1]).der).requests[0];
    expect(isEcIssuing(foreign)).toBe(false);
    expect(issuerMatcher(rsa.issuing.der)(foreign)).toBe(true);
  });

  it("gives the same key for the same question, whatever the nonce, and distinguishes hash algorithms", () => {
    const a = parseOcspRequest(makeRequest(ec, [ec.leaf1]).der).requests[0];
    const b = parseOcspRequest(makeRequest(ec, [ec.leaf1], ["-no_nonce"]).der).requests[0];
    const c = parseOcspRequest(makeRequest(ec, [ec.leaf1], ["-sha256"]).der).requests[0];
    const d = parseOcspRequest(makeRequest(ec, [ec.leaf2]).der).requests[0];
    expect(ocspCacheKey(a)).toBe(ocspCacheKey(b));
    expect(ocspCacheKey(a)).not.toBe(ocspCacheKey(c));
    expect(ocspCacheKey(a)).not.toBe(ocspCacheKey(d));
    expect(ocspCacheKey(a)).toContain(ec.leaf1.cert.serialNumber);
  });
});

describe("buildOcspResponse", () => {
  it("answers revoked with reason and time, echoing the nonce (openssl checks it with -reqin)", async () => {
    const req = makeRequest(ec, [ec.leaf1]);
    const parsed = parseOcspRequest(req.der);
    const resp = await respond(ec, parsed, revokedLeaf1(ec));
    const withNonce = openssl(["ocsp", "-respin", resp.file, "-reqin", req.file, "-CAfile", ec.chainFile, "-resp_text"]);
    expect(withNonce.out).toContain("Response verify OK");
    expect(withNonce.out).not.toMatch(/Nonce Verify error|WARNING: no nonce/);
    expect(withNonce.out).toContain("Cert Status: revoked");
    expect(withNonce.out).toContain("Revocation Reason: keyCompromise (0x1)");
    expect(withNonce.out).toContain("OCSP Nonce");
    expect(withNonce.out).toContain("Response Type: Basic OCSP Response");
    // The CertID goes back byte for byte.
    expect(Buffer.from(resp.der).indexOf(Buffer.from(parsed.requests[0].certIdDer))).toBeGreaterThan(0);

    const status = checkForCerts(ec, resp.file, [ec.leaf1]);
    expect(status.out).toContain("Response verify OK");
    expect(status.out).toContain(`${ec.leaf1.pemFile}: revoked`);
    expect(status.out).toContain("Reason: keyCompromise");
    expect(status.out).toMatch(/Revocation Time: \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT/);
  });

  it("lets openssl notice a missing or different nonce", async () => {
    const req = makeRequest(ec, [ec.leaf2]);
    const parsed = parseOcspRequest(req.der);
    const noNonce = await respond(ec, parsed, revokedLeaf1(ec), { nonce: null });
    expect(openssl(["ocsp", "-respin", noNonce.file, "-reqin", req.file, "-CAfile", ec.chainFile]).out).toContain("WARNING: no nonce in response");
    const otherNonce = await respond(ec, parsed, revokedLeaf1(ec), { nonce: Uint8Array.of(0x04, 0x02, 1, 2) });
    expect(openssl(["ocsp", "-respin", otherNonce.file, "-reqin", req.file, "-CAfile", ec.chainFile]).out).toContain("Nonce Verify error");
  });

  it("answers good for a SHA-256, nonce-less request (pre-producible, no nonce extension)", async () => {
    const req = makeRequest(ec, [ec.leaf2], ["-no_nonce", "-sha256"]);
    const parsed = parseOcspRequest(req.der);
    const resp = await respond(ec, parsed, revokedLeaf1(ec));
    const out = checkForCerts(ec, resp.file, [ec.leaf2], ["-sha256", "-resp_text"]);
    expect(out.out).toContain("Response verify OK");
    expect(out.out).toContain(`${ec.leaf2.pemFile}: good`);
    expect(out.out).not.toContain("OCSP Nonce");
    expect(out.out).toContain("Hash Algorithm: sha256");
  });

  it("answers unknown and several certificates in one response", async () => {
    const req = makeRequest(ec, [ec.leaf1, ec.leaf2, ec.responder], ["-no_nonce"]);
    const resp = await respond(ec, parseOcspRequest(req.der), revokedLeaf1(ec));
    const out = checkForCerts(ec, resp.file, [ec.leaf1, ec.leaf2, ec.responder]);
    expect(out.out).toContain("Response verify OK");
    expect(out.out).toContain(`${ec.leaf1.pemFile}: revoked`);
    expect(out.out).toContain(`${ec.leaf2.pemFile}: good`);
    expect(out.out).toContain(`${ec.responder.pemFile}: unknown`);
  });

  it("keeps DER lengths minimal when a short response follows a long one, and concurrent answers apart", async () => {
    // The encoder reuses asn1js nodes between responses; a length once over 127 must not stay long-form.
    const big = makeRequest(ec, [ec.leaf1, ec.leaf2, ec.responder, ec.issuing], ["-no_nonce"]);
    await respond(ec, parseOcspRequest(big.der), revokedLeaf1(ec));
    const small = parseOcspRequest(makeRequest(ec, [ec.leaf2], ["-no_nonce"]).der);
    const bare = await respond(ec, small, revokedLeaf1(ec), { includeResponderCert: false });
    const walk = (der: Uint8Array, offset: number, limit: number): void => {
      for (let pos = offset; pos < limit; ) {
        const el = readTlv(der, pos, limit); // refuses non-minimal lengths
        if (der[pos] & 0x20) walk(der, el.start, el.end);
        pos = el.end;
      }
    };
    walk(bare.der, 0, bare.der.length);
    expect(checkForCerts(ec, bare.file, [ec.leaf2], ["-verify_other", ec.responder.pemFile]).out).toContain("Response verify OK");

    const requests = [ec.leaf1, ec.leaf2].map((leaf) => makeRequest(ec, [leaf]));
    const answers = await Promise.all(requests.map((r) => respond(ec, parseOcspRequest(r.der), revokedLeaf1(ec))));
    answers.forEach((answer, i) => {
      const out = openssl(["ocsp", "-respin", answer.file, "-reqin", requests[i].file, "-CAfile", ec.chainFile]).out;
      expect(out).toContain("Response verify OK");
      expect(out).not.toMatch(/WARNING|Nonce Verify error/);
    });
  });

  it("identifies the responder by key and embeds its certificate (or not, on request)", async () => {
    const req = makeRequest(ec, [ec.leaf2], ["-no_nonce"]);
    const parsed = parseOcspRequest(req.der);
    const resp = await respond(ec, parsed, revokedLeaf1(ec));
    const text = openssl(["ocsp", "-respin", resp.file, "-noverify", "-resp_text"]).out;
    const spkBits = new Uint8Array(ec.responder.cert.publicKey.rawData).subarray(-65); // uncompressed P-256 point
    const keyHash = createHash("sha1").update(spkBits).digest("hex").toUpperCase();
    expect(text).toContain(`Responder Id: ${keyHash}`);
    expect(text).toContain("Subject: CN=CertFleet Test OCSP Responder");

    const bare = await respond(ec, parsed, revokedLeaf1(ec), { includeResponderCert: false });
    expect(bare.der.length).toBeLessThan(resp.der.length);
    expect(checkForCerts(ec, bare.file, [ec.leaf2]).out).not.toContain("Response verify OK");
    const withOther = checkForCerts(ec, bare.file, [ec.leaf2], ["-verify_other", ec.responder.pemFile]);
    expect(withOther.out).toContain("Response verify OK");
  });

  it("lets the CA sign its own responses", async () => {
    const req = makeRequest(ec, [ec.leaf1], ["-no_nonce"]);
    const resp = await respond(ec, parseOcspRequest(req.der), revokedLeaf1(ec), { responder: ec.issuing });
    const out = checkForCerts(ec, resp.file, [ec.leaf1]);
    expect(out.out).toContain("Response verify OK");
    expect(out.out).toContain(`${ec.leaf1.pemFile}: revoked`);
  });

  it("works with an RSA hierarchy", async () => {
    const req = makeRequest(rsa, [rsa.leaf1, rsa.leaf2]);
    const resp = await respond(rsa, parseOcspRequest(req.der), revokedLeaf1(rsa));
    const out = openssl(["ocsp", "-respin", resp.file, "-reqin", req.file, "-CAfile", rsa.chainFile, "-resp_text"]);
    expect(out.out).toContain("Response verify OK");
    expect(out.out).toContain("Signature Algorithm: sha256WithRSAEncryption");
    const status = checkForCerts(rsa, resp.file, [rsa.leaf1, rsa.leaf2]);
    expect(status.out).toContain(`${rsa.leaf1.pemFile}: revoked`);
    expect(status.out).toContain(`${rsa.leaf2.pemFile}: good`);
  });

  it("is read the same way by pkijs", async () => {
    const req = makeRequest(ec, [ec.leaf1]);
    const resp = await respond(ec, parseOcspRequest(req.der), revokedLeaf1(ec));
    const parsed = pkijs.OCSPResponse.fromBER(resp.der.slice());
    expect(parsed.responseStatus.valueBlock.valueDec).toBe(0);
    const basic = pkijs.BasicOCSPResponse.fromBER(parsed.responseBytes!.response.valueBlock.valueHexView.slice());
    const leaf = pkijs.Certificate.fromBER(ec.leaf1.der.slice());
    const issuer = pkijs.Certificate.fromBER(ec.issuing.der.slice());
    const status = await basic.getCertificateStatus(leaf, issuer);
    expect(status).toEqual({ isForCertificate: true, status: 1 });
    const single = basic.tbsResponseData.responses[0];
    expect(single.thisUpdate.getUTCMilliseconds()).toBe(0);
    expect(basic.tbsResponseData.producedAt.getUTCMilliseconds()).toBe(0);
    expect(basic.certs).toHaveLength(1);
  });

  it("refuses a signer that does not match the responder certificate, and empty answers", async () => {
    const parsed = parseOcspRequest(makeRequest(ec, [ec.leaf1]).der);
    const now = new Date();
    const base = {
      responderCertificate: ec.responder.der,
      signer: ec.issuing.signer,
      producedAt: now,
      responses: [{ certId: parsed.requests[0], status: { type: "good" as const }, thisUpdate: now, nextUpdate: new Date(now.getTime() + HOUR) }],
    };
    await expect(buildOcspResponse(base)).rejects.toThrow(/does not match/);
    await expect(buildOcspResponse({ ...base, signer: ec.responder.signer, responses: [] })).rejects.toThrow(PkiError);
    await expect(
      buildOcspResponse({ ...base, signer: ec.responder.signer, responses: [{ ...base.responses[0], nextUpdate: now }] }),
    ).rejects.toThrow(/nextUpdate/);
  });
});

describe("ocspErrorResponse", () => {
  it("produces unsigned error responses OpenSSL understands", () => {
    const expected: Record<string, string> = {
      malformedRequest: "malformedrequest (1)",
      internalError: "internalerror (2)",
      tryLater: "trylater (3)",
      sigRequired: "sigrequired (5)",
      unauthorized: "unauthorized (6)",
    };
    for (const [status, text] of Object.entries(expected)) {
      const file = ec.file(`err-${status}.der`);
      const der = ocspErrorResponse(status as OcspErrorStatus);
      expect(der).toHaveLength(5);
      writeFileSync(file, der);
      expect(openssl(["ocsp", "-respin", file, "-resp_text"]).out).toContain(`Responder Error: ${text}`);
    }
  });

  it("is what a malformed request gets", () => {
    try {
      parseOcspRequest(Uint8Array.of(0x30, 0x80));
      expect.unreachable();
    } catch (e) {
      expect(ocspErrorResponse((e as OcspRequestError).status)).toEqual(Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x01));
    }
  });
});

describe("decodeOcspGetPath", () => {
  it("decodes URL-encoded base64 and base64url", () => {
    const { der } = makeRequest(ec, [ec.leaf1]);
    const b64 = Buffer.from(der).toString("base64");
    expect(decodeOcspGetPath(encodeURIComponent(b64))).toEqual(der);
    expect(decodeOcspGetPath(b64)).toEqual(der);
    expect(decodeOcspGetPath(Buffer.from(der).toString("base64url"))).toEqual(der);
    expect(parseOcspRequest(decodeOcspGetPath(encodeURIComponent(b64))).requests).toHaveLength(1);
    expect(() => decodeOcspGetPath("%E0%A4%A")).toThrow(OcspRequestError);
    expect(() => decodeOcspGetPath("not base64!")).toThrow(OcspRequestError);
  });
});
