// The hand-written OCSPRequest reader: real `openssl ocsp` requests read the same way pkijs reads
// them, and anything malformed (garbage, truncated, wrong tags, bad or oversized lengths) refused
// with malformedRequest, never another error.
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { OcspRequestError, buildOcspResponse, parseOcspRequest } from "@/lib/pki/ocsp";
import { PkiError } from "@/lib/pki/errors";
import { readTlv, tlv } from "@/lib/pki/der";
import { createTestPki, openssl, type Issued, type TestPki } from "./fixtures";

let ec: TestPki;
let counter = 0;

beforeAll(async () => {
  ec = await createTestPki("EC-P256");
});
afterAll(() => ec?.cleanup());

function request(leaves: Issued[], extra: string[] = []): Uint8Array {
  const file = ec.file(`rq-${++counter}.der`);
  const args = ["ocsp", "-issuer", ec.issuing.pemFile, ...extra];
  for (const leaf of leaves) args.push("-cert", leaf.pemFile);
  const r = openssl([...args, "-reqout", file]);
  expect(r.status, r.out).toBe(0);
  return new Uint8Array(readFileSync(file));
}

/** The outcome of parsing: "ok", "malformed", or the unexpected error itself. */
function outcome(der: Uint8Array): "ok" | "malformed" | unknown {
  try {
    parseOcspRequest(der);
    return "ok";
  } catch (e) {
    if (e instanceof OcspRequestError && e.status === "malformedRequest" && e.code === "OCSP_malformedRequest") return "malformed";
    return e;
  }
}

const b = (...bytes: number[]) => Uint8Array.from(bytes);
const seq = (...parts: Uint8Array[]) => tlv(0x30, ...parts);
const ctx = (n: number, ...parts: Uint8Array[]) => tlv(0xa0 + n, ...parts);
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
const SHA1_ALG = seq(b(0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a), b(0x05, 0x00));
const HASH = new Uint8Array(20).fill(0xab);
const SERIAL = b(0x02, 0x03, 0x01, 0x02, 0x03);
const CERT_ID = seq(SHA1_ALG, octets(HASH), octets(HASH), SERIAL);
const NONCE_OID = b(0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02);
const nonceExts = (value: Uint8Array) => ctx(2, seq(seq(NONCE_OID, octets(value))));
/** OCSPRequest { TBSRequest { fields… } } */
const ocspRequest = (...tbsFields: Uint8Array[]) => seq(seq(...tbsFields));
const LIST = seq(seq(CERT_ID));

describe("parseOcspRequest (hand-written DER reader)", () => {
  it("reads OpenSSL requests exactly as pkijs does: CertIDs, serials, hash algorithms, nonce", () => {
    const cases = [request([ec.leaf1]), request([ec.leaf1, ec.leaf2], ["-no_nonce", "-sha256"]), request([ec.leaf2, ec.responder, ec.leaf1], ["-sha384"])];
    for (const der of cases) {
      const ours = parseOcspRequest(der);
      const theirs = pkijs.OCSPRequest.fromBER(der.slice());
      expect(ours.requests).toHaveLength(theirs.tbsRequest.requestList.length);
      theirs.tbsRequest.requestList.forEach((item, i) => {
        const mine = ours.requests[i];
        expect(mine.hashAlgorithmOid).toBe(item.reqCert.hashAlgorithm.algorithmId);
        expect(Buffer.from(mine.issuerNameHash)).toEqual(Buffer.from(item.reqCert.issuerNameHash.valueBlock.valueHexView));
        expect(Buffer.from(mine.issuerKeyHash)).toEqual(Buffer.from(item.reqCert.issuerKeyHash.valueBlock.valueHexView));
        expect(Buffer.from(mine.certIdDer)).toEqual(Buffer.from(item.reqCert.toSchema().toBER()));
        expect(mine.serialHex).toBe(Buffer.from(item.reqCert.serialNumber.valueBlock.valueHexView).toString("hex"));
      });
      const nonceExt = theirs.tbsRequest.requestExtensions?.find((e) => e.extnID === "1.3.6.1.5.5.7.48.1.2");
      expect(ours.nonce && Buffer.from(ours.nonce)).toEqual(nonceExt && Buffer.from(nonceExt.extnValue.valueBlock.valueHexView));
    }
  });

  it("accepts the optional parts: version, requestorName, per-request extensions, a signature, raw and wrapped nonces", () => {
    const ok = [
      ocspRequest(ctx(0, b(0x02, 0x01, 0x00)), LIST),
      ocspRequest(ctx(1, ctx(4, seq())), LIST),
      ocspRequest(seq(seq(CERT_ID, ctx(0, seq(seq(b(0x06, 0x03, 0x2a, 0x03, 0x04), octets(b(1))))))), nonceExts(b(0x04, 0x02, 7, 7))),
      seq(seq(LIST), ctx(0, seq(seq(b(0x06, 0x03, 0x2a, 0x03, 0x04)), b(0x03, 0x02, 0x00, 0x01)))),
      ocspRequest(LIST, nonceExts(b(1, 2, 3, 4))), // raw nonce bytes (pre-RFC 8954 clients)
      ocspRequest(LIST, ctx(2, seq(seq(NONCE_OID, b(0x01, 0x01, 0x00), octets(b(0x04, 0x01, 9)))))), // explicit critical FALSE
      ocspRequest(seq(seq(CERT_ID), seq(CERT_ID))),
    ];
    for (const der of ok) expect(outcome(der)).toBe("ok");
    expect(parseOcspRequest(ok[4]).nonce).toEqual(b(1, 2, 3, 4));
    expect(parseOcspRequest(ok[6]).requests).toHaveLength(2);
  });

  it("refuses wrong tags, missing or extra fields and bad lengths with malformedRequest", () => {
    const bad: Record<string, Uint8Array> = {
      "top not a SEQUENCE": tlv(0x31, seq(LIST)),
      "TBSRequest not a SEQUENCE": seq(tlv(0x31, LIST)),
      "empty TBSRequest": seq(seq()),
      "no requestList": ocspRequest(ctx(0, b(0x02, 0x01, 0x00))),
      "version not an INTEGER": ocspRequest(ctx(0, b(0x04, 0x01, 0x00)), LIST),
      "version primitive [0]": ocspRequest(b(0x80, 0x01, 0x00), LIST),
      "version with two INTEGERs": ocspRequest(ctx(0, b(0x02, 0x01, 0x00), b(0x02, 0x01, 0x00)), LIST),
      "empty version": ocspRequest(ctx(0, b(0x02, 0x00)), LIST),
      "requestorName with two names": ocspRequest(ctx(1, ctx(4, seq()), ctx(4, seq())), LIST),
      "requestList a SET": ocspRequest(tlv(0x31, seq(CERT_ID))),
      "empty requestList": ocspRequest(seq()),
      "Request not a SEQUENCE": ocspRequest(seq(tlv(0x31, CERT_ID))),
      "Request extra field": ocspRequest(seq(seq(CERT_ID, b(0x05, 0x00)))),
      "Request with two extension blocks": ocspRequest(seq(seq(CERT_ID, ctx(0, seq()), ctx(0, seq())))),
      "CertID with three fields": ocspRequest(seq(seq(seq(SHA1_ALG, octets(HASH), octets(HASH))))),
      "CertID with five fields": ocspRequest(seq(seq(seq(SHA1_ALG, octets(HASH), octets(HASH), SERIAL, b(0x05, 0x00))))),
      "hashAlgorithm without OID": ocspRequest(seq(seq(seq(seq(b(0x05, 0x00)), octets(HASH), octets(HASH), SERIAL)))),
      "hashAlgorithm two parameters": ocspRequest(seq(seq(seq(seq(b(0x06, 0x01, 0x2a), b(0x05, 0x00), b(0x05, 0x00)), octets(HASH), octets(HASH), SERIAL)))),
      "empty OID": ocspRequest(seq(seq(seq(seq(b(0x06, 0x00)), octets(HASH), octets(HASH), SERIAL)))),
      "truncated OID arc": ocspRequest(seq(seq(seq(seq(b(0x06, 0x02, 0x2a, 0x83)), octets(HASH), octets(HASH), SERIAL)))),
      "non-minimal OID arc": ocspRequest(seq(seq(seq(seq(b(0x06, 0x03, 0x2a, 0x80, 0x01)), octets(HASH), octets(HASH), SERIAL)))),
      "constructed OCTET STRING": ocspRequest(seq(seq(seq(SHA1_ALG, tlv(0x24, octets(HASH)), octets(HASH), SERIAL)))),
      "serial not an INTEGER": ocspRequest(seq(seq(seq(SHA1_ALG, octets(HASH), octets(HASH), octets(b(1)))))),
      "empty serial": ocspRequest(seq(seq(seq(SHA1_ALG, octets(HASH), octets(HASH), b(0x02, 0x00))))),
      "requestExtensions primitive": ocspRequest(LIST, b(0x82, 0x00)),
      "requestExtensions not a SEQUENCE": ocspRequest(LIST, ctx(2, tlv(0x31))),
      "field after requestExtensions": ocspRequest(LIST, nonceExts(b(0x04, 0x01, 1)), b(0x05, 0x00)),
      "Extension without extnValue": ocspRequest(LIST, ctx(2, seq(seq(NONCE_OID)))),
      "Extension with a long BOOLEAN": ocspRequest(LIST, ctx(2, seq(seq(NONCE_OID, b(0x01, 0x02, 0, 0), octets(b(1)))))),
      "Extension extra field": ocspRequest(LIST, ctx(2, seq(seq(NONCE_OID, octets(b(1)), b(0x05, 0x00))))),
      "empty nonce": ocspRequest(LIST, nonceExts(b(0x04, 0x00))),
      "129-octet nonce": ocspRequest(LIST, nonceExts(tlv(0x04, new Uint8Array(129)))),
      "signature not [0]": seq(seq(LIST), ctx(1, seq())),
      "garbage inside the signature": seq(seq(LIST), ctx(0, b(0x30, 0x05, 0x01))),
      "deeply nested signature": seq(seq(LIST), ctx(0, Array.from({ length: 40 }).reduce<Uint8Array>((inner) => seq(inner), seq()))),
      "indefinite length": b(0x30, 0x80, ...seq(LIST), 0x00, 0x00),
      "non-minimal short length": b(0x30, 0x81, 0x05, ...seq(LIST).subarray(0, 5)),
      "non-minimal long length": Uint8Array.from([0x30, 0x82, 0x00, seq(LIST).length, ...seq(LIST)]),
      "oversized length": b(0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30, 0x00),
      "five length octets": b(0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x05),
      "length past the end": b(0x30, 0x10, 0x30, 0x00),
      "multi-byte tag": b(0x3f, 0x81, 0x01, 0x00),
      "child overruns its parent": b(0x30, 0x04, 0x30, 0x05, 0x30, 0x00),
      "a lone tag byte": b(0x30),
    };
    for (const [name, der] of Object.entries(bad)) expect(outcome(der), name).toBe("malformed");
  });

  it("never fails with anything but malformedRequest on truncations and single-byte corruptions", () => {
    const der = request([ec.leaf1, ec.leaf2]);
    const unexpected: string[] = [];
    let accepted = 0;
    const check = (bytes: Uint8Array, what: string) => {
      const r = outcome(bytes);
      if (r === "ok") accepted++;
      else if (r !== "malformed") unexpected.push(`${what}: ${String(r)}`);
    };
    for (let n = 0; n < der.length; n++) check(der.subarray(0, n), `first ${n} bytes`);
    for (let i = 0; i < der.length; i++) {
      for (const v of [0x00, 0x01, 0x1f, 0x30, 0x7f, 0x80, 0x81, 0x84, 0xa0, 0xff, der[i] ^ 0x01]) {
        const copy = der.slice();
        copy[i] = v;
        check(copy, `byte ${i} = ${v}`);
      }
    }
    expect(unexpected).toEqual([]);
    // Changed hash or serial bytes are still a well-formed request.
    expect(accepted).toBeGreaterThan(0);
  });

  it("returns copies, not views of the request bytes (an HTTP body is a Buffer)", () => {
    const body = Buffer.from(request([ec.leaf1]));
    const parsed = parseOcspRequest(body);
    const before = structuredClone(parsed);
    body.fill(0);
    expect(parsed).toEqual(before);
    for (const bytes of [parsed.nonce!, parsed.requests[0].certIdDer, parsed.requests[0].issuerKeyHash, parsed.requests[0].issuerNameHash]) {
      expect(Buffer.isBuffer(bytes)).toBe(false);
      expect(bytes.buffer).not.toBe(body.buffer);
    }
  });

  it("refuses non-Uint8Array input", () => {
    expect(outcome("0\u0003" as unknown as Uint8Array)).toBe("malformed");
    expect(outcome(undefined as unknown as Uint8Array)).toBe("malformed");
  });
});

describe("buildOcspResponse with CertIDs from elsewhere", () => {
  it("echoes a CertID that did not come from parseOcspRequest after checking it, and refuses junk", async () => {
    const parsed = parseOcspRequest(request([ec.leaf1], ["-no_nonce"]));
    const now = new Date();
    const base = { responderCertificate: ec.responder.der, signer: ec.responder.signer, producedAt: now };
    const single = (certIdDer: Uint8Array) => ({ certId: { certIdDer }, status: { type: "good" as const }, thisUpdate: now, nextUpdate: new Date(now.getTime() + 60_000) });
    const copy = parsed.requests[0].certIdDer.slice();
    const der = await buildOcspResponse({ ...base, responses: [single(copy)] });
    expect(Buffer.from(der).indexOf(Buffer.from(copy))).toBeGreaterThan(0);
    const basic = pkijs.BasicOCSPResponse.fromBER(pkijs.OCSPResponse.fromBER(der.slice()).responseBytes!.response.valueBlock.valueHexView.slice());
    expect(basic.tbsResponseData.responses[0].certID.serialNumber.valueBlock.valueHexView).toEqual(new asn1js.Integer({ valueHex: Buffer.from(parsed.requests[0].serialHex, "hex") }).valueBlock.valueHexView);
    for (const junk of [b(0x30, 0x00), b(0x05, 0x00), Uint8Array.from([...copy, 0])]) {
      const err = await buildOcspResponse({ ...base, responses: [single(junk)] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PkiError);
      expect((err as PkiError).code).toBe("INVALID_INPUT");
    }
  });

  it("writes minimal one-, two- and three-octet lengths (a response with 700 SingleResponses)", async () => {
    const parsed = parseOcspRequest(request([ec.leaf1], ["-no_nonce"]));
    const now = new Date();
    const item = { certId: parsed.requests[0], status: { type: "revoked" as const, revokedAt: now, reason: "keyCompromise" as const }, thisUpdate: now, nextUpdate: new Date(now.getTime() + 60_000) };
    const der = await buildOcspResponse({ responderCertificate: ec.responder.der, signer: ec.responder.signer, producedAt: now, responses: Array.from({ length: 700 }, () => item), nonce: b(0x04, 0x01, 0x05) });
    expect(der.length).toBeGreaterThan(65_536);
    const walk = (offset: number, limit: number): void => {
      for (let pos = offset; pos < limit; ) {
        const el = readTlv(der, pos, limit); // refuses non-minimal lengths
        if (der[pos] & 0x20) walk(el.start, el.end);
        pos = el.end;
      }
    };
    walk(0, der.length);
    // (pkijs refuses a BasicOCSPResponse this large; OpenSSL is the checker here.)
    const file = ec.file("big-response.der");
    writeFileSync(file, der);
    const out = openssl(["ocsp", "-respin", file, "-CAfile", ec.chainFile, "-resp_text"]).out;
    expect(out).toContain("Response verify OK");
    expect(out.match(/Cert Status: revoked/g)).toHaveLength(700);
  });
});
