// OCSP responder core (RFC 6960, RFC 5019 lightweight profile): parse requests, match them to an
// issuing CA, build signed responses and the unsigned error responses. All OCSP ASN.1 goes through
// pkijs/asn1js; the HTTP handler, status lookups and caching live above this module.
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { createHash } from "node:crypto";
import { X509Certificate, crypto } from "./x509";
import type { Signer } from "./signer";
import { REVOCATION_REASONS, revocationReasonCode, type RevocationReasonName } from "./crl";
import { PkiError } from "./errors";
import { bytesEqual, invalidInput, parseCertificateParts, serialHexOfContent, toHex, type CertificateParts } from "./der";

export const OCSP_ERROR_STATUSES = {
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;
export type OcspErrorStatus = keyof typeof OCSP_ERROR_STATUSES;

/**
 * A request the responder must answer with the unsigned error OCSPResponse of `status`
 * (ocspErrorResponse(err.status)); PkiError code "OCSP_<status>", e.g. OCSP_malformedRequest.
 */
export class OcspRequestError extends PkiError {
  constructor(
    readonly status: OcspErrorStatus,
    message: string = status,
  ) {
    super(`OCSP_${status}`, message);
  }
}

const OID_NONCE = "1.3.6.1.5.5.7.48.1.2";
const OID_BASIC_RESPONSE = "1.3.6.1.5.5.7.48.1.1";
const OID_PKCS1_PREFIX = "1.2.840.113549.1.1.";
// RFC 9654 (obsoletes RFC 8954): nonces of 1..128 octets; anything else is malformedRequest.
const NONCE_MAX = 128;

/** CertID hash algorithms CertFleet recognises (OpenSSL defaults to SHA-1; `-sha256` is common). */
const CERTID_HASHES: Record<string, "sha1" | "sha256" | "sha384" | "sha512"> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

export interface OcspCertId {
  hashAlgorithmOid: string;
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  /**
   * CertFleet serial form (serial.ts: minimal DER content octets, lowercase hex), ready for a
   * database lookup. A negative INTEGER keeps its top bit set without a 00 pad, so it matches nothing.
   */
  serialHex: string;
  /** The CertID as it appeared in the request, to be echoed in the SingleResponse. */
  certIdDer: Uint8Array;
}

export interface OcspRequestInfo {
  requests: OcspCertId[];
  /** The nonce extension's extnValue contents, to be echoed verbatim. */
  nonce?: Uint8Array;
}

const malformed = (why: string) => new OcspRequestError("malformedRequest", `malformed OCSP request: ${why}`);

function isUniversal(block: asn1js.AsnType, tagNumber: number): boolean {
  return block.idBlock.tagClass === 1 && block.idBlock.tagNumber === tagNumber;
}

/**
 * Parses a DER OCSPRequest. Throws OcspRequestError("malformedRequest") for anything that is not
 * exactly one well-formed request with at least one CertID.
 */
export function parseOcspRequest(der: Uint8Array): OcspRequestInfo {
  if (!(der instanceof Uint8Array) || der.length === 0) throw malformed("empty body");
  const asn = asn1js.fromBER(der);
  if (asn.offset === -1) throw malformed("not ASN.1");
  if (asn.offset !== der.length) throw malformed("trailing bytes after the request");
  let request: pkijs.OCSPRequest;
  try {
    request = new pkijs.OCSPRequest({ schema: asn.result });
  } catch {
    throw malformed("not an OCSPRequest");
  }
  const list = request.tbsRequest.requestList;
  if (list.length === 0) throw malformed("no CertID in requestList");

  // pkijs keeps decoded values only; the CertID bytes to echo come from the asn1js tree it validated.
  const tbsBlock = (asn.result as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
  const listBlock = tbsBlock.valueBlock.value.find((b) => isUniversal(b, 16)) as asn1js.Sequence | undefined;
  if (!listBlock || listBlock.valueBlock.value.length !== list.length) throw malformed("requestList");

  const requests = list.map((item, i): OcspCertId => {
    const certIdBlock = (listBlock.valueBlock.value[i] as asn1js.Sequence).valueBlock.value[0];
    const cid = item.reqCert;
    const serialBytes = cid.serialNumber.valueBlock.valueHexView;
    if (serialBytes.length === 0) throw malformed("empty serial number");
    return {
      hashAlgorithmOid: cid.hashAlgorithm.algorithmId,
      issuerNameHash: cid.issuerNameHash.valueBlock.valueHexView.slice(),
      issuerKeyHash: cid.issuerKeyHash.valueBlock.valueHexView.slice(),
      serialHex: serialHexOfContent(serialBytes),
      certIdDer: new Uint8Array(certIdBlock.valueBeforeDecodeView),
    };
  });

  let nonce: Uint8Array | undefined;
  const nonceExt = request.tbsRequest.requestExtensions?.find((e) => e.extnID === OID_NONCE);
  if (nonceExt) {
    nonce = nonceExt.extnValue.valueBlock.valueHexView.slice();
    // RFC 9654 wraps the nonce in an OCTET STRING inside extnValue (OpenSSL does); older clients
    // put raw bytes there. Either way the whole extnValue is echoed; the size rule applies to the nonce.
    const inner = asn1js.fromBER(nonce);
    const length =
      inner.offset === nonce.length && inner.result instanceof asn1js.OctetString
        ? inner.result.valueBlock.valueHexView.length
        : nonce.length;
    if (length === 0 || length > NONCE_MAX) throw malformed(`nonce of ${length} octets`);
  }
  return { requests, nonce };
}

/**
 * A predicate telling whether a CertID names `issuerCertificate` as issuer: issuerNameHash over
 * the DER subject, issuerKeyHash over the subjectPublicKey BIT STRING contents, with the CertID's
 * own hash algorithm (SHA-1, SHA-256, SHA-384, SHA-512). Hashes are computed once per matcher.
 */
export function issuerMatcher(
  issuerCertificate: Uint8Array | X509Certificate,
): (certId: Pick<OcspCertId, "hashAlgorithmOid" | "issuerNameHash" | "issuerKeyHash">) => boolean {
  const parts = parseCertificateParts(certificateDer(issuerCertificate));
  const expected = new Map<string, { name: Uint8Array; key: Uint8Array }>();
  for (const [oid, hash] of Object.entries(CERTID_HASHES)) {
    expected.set(oid, {
      name: new Uint8Array(createHash(hash).update(parts.subjectDer).digest()),
      key: new Uint8Array(createHash(hash).update(parts.subjectPublicKeyBits).digest()),
    });
  }
  return (certId) => {
    const e = expected.get(certId.hashAlgorithmOid);
    return !!e && bytesEqual(e.name, certId.issuerNameHash) && bytesEqual(e.key, certId.issuerKeyHash);
  };
}

/**
 * Cache key of a request item for pre-produced (nonce-less) responses: hash algorithm, issuer
 * hashes and serial. The hash algorithm is part of the key because the response echoes the CertID,
 * so a SHA-1 and a SHA-256 question about the same certificate need different responses.
 */
export function ocspCacheKey(certId: Pick<OcspCertId, "hashAlgorithmOid" | "issuerNameHash" | "issuerKeyHash" | "serialHex">): string {
  return `${certId.hashAlgorithmOid}/${toHex(certId.issuerNameHash)}/${toHex(certId.issuerKeyHash)}/${certId.serialHex}`;
}

export type OcspCertStatus =
  | { type: "good" }
  | { type: "revoked"; revokedAt: Date; reason?: number | RevocationReasonName }
  | { type: "unknown" };

export interface OcspSingleResponseInput {
  /** The request's CertID (a parsed request item), echoed in the response. */
  certId: Pick<OcspCertId, "certIdDer">;
  status: OcspCertStatus;
  thisUpdate: Date;
  /** RFC 5019 responses always carry nextUpdate; clients cache until then. */
  nextUpdate: Date;
}

export interface BuildOcspResponseParams {
  /** The certificate of the key that signs (a delegated responder, or the CA itself). */
  responderCertificate: Uint8Array | X509Certificate;
  /** The responder's key; must match responderCertificate's public key. */
  signer: Signer;
  producedAt: Date;
  responses: readonly OcspSingleResponseInput[];
  /** Request nonce (OcspRequestInfo.nonce) to echo; omit for pre-produced responses. */
  nonce?: Uint8Array;
  /** Embed the responder certificate (needed by clients to validate a delegated responder). Default true. */
  includeResponderCert?: boolean;
}

interface ResponderInfo {
  parts: CertificateParts;
  keyHash: Uint8Array;
  /**
   * The responder certificate decoded once by asn1js and embedded as that node: rebuilding it
   * through pkijs.Certificate.toSchema() on every response cost most of a fresh (nonce) answer.
   */
  node: asn1js.AsnType;
}
const responderCache = new WeakMap<object, ResponderInfo>();
const signerKeyCache = new WeakMap<CryptoKey, Uint8Array>();

function certificateDer(cert: Uint8Array | X509Certificate): Uint8Array {
  return cert instanceof Uint8Array ? cert : new Uint8Array(cert.rawData);
}

function responderInfo(cert: Uint8Array | X509Certificate): ResponderInfo {
  let info = responderCache.get(cert);
  if (!info) {
    const der = certificateDer(cert);
    const parts = parseCertificateParts(der);
    info = {
      parts,
      // ResponderID byKey: SHA-1 of the subjectPublicKey BIT STRING contents (RFC 6960 §4.2.1).
      keyHash: new Uint8Array(createHash("sha1").update(parts.subjectPublicKeyBits).digest()),
      node: asn1js.fromBER(der.slice()).result,
    };
    responderCache.set(cert, info);
  }
  return info;
}

async function assertSignerMatches(signer: Signer, parts: CertificateParts): Promise<void> {
  let spki = signerKeyCache.get(signer.publicKey);
  if (!spki) {
    spki = new Uint8Array(await crypto.subtle.exportKey("spki", signer.publicKey));
    signerKeyCache.set(signer.publicKey, spki);
  }
  if (!bytesEqual(spki, parts.subjectPublicKeyInfoDer)) {
    throw new PkiError("SIGNER_MISMATCH", "The OCSP signer's key does not match the responder certificate.");
  }
}

/** GeneralizedTime in OCSP must be whole seconds (RFC 5280 §4.1.2.5.2); asn1js would write milliseconds. */
function wholeSeconds(date: Date): Date {
  const t = date.getTime();
  if (!Number.isFinite(t)) throw invalidInput("invalid date");
  return new Date(t - (((t % 1000) + 1000) % 1000));
}

function encodeCertStatus(status: OcspCertStatus): asn1js.AsnType {
  switch (status.type) {
    case "good":
      return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 } }); // [0] IMPLICIT NULL
    case "unknown":
      return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 2 } }); // [2] IMPLICIT NULL
    case "revoked": {
      const value: asn1js.AsnType[] = [new asn1js.GeneralizedTime({ valueDate: wholeSeconds(status.revokedAt) })];
      if (status.reason !== undefined) {
        const code = revocationReasonCode(status.reason);
        if (code === REVOCATION_REASONS.removeFromCRL) throw invalidInput("removeFromCRL is not a revocation reason");
        // Like CRL entries, unspecified is expressed by leaving the reason out.
        if (code !== REVOCATION_REASONS.unspecified) {
          value.push(new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Enumerated({ value: code })] }));
        }
      }
      return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value }); // [1] IMPLICIT RevokedInfo
    }
  }
}

/** Builds and signs a successful OCSPResponse carrying a BasicOCSPResponse; returns its DER. */
export async function buildOcspResponse(params: BuildOcspResponseParams): Promise<Uint8Array<ArrayBuffer>> {
  if (params.responses.length === 0) throw invalidInput("an OCSP response needs at least one SingleResponse");
  const responder = responderInfo(params.responderCertificate);
  await assertSignerMatches(params.signer, responder.parts);

  const responses = params.responses.map((r) => {
    if (!(r.nextUpdate.getTime() > r.thisUpdate.getTime())) throw invalidInput("nextUpdate must be after thisUpdate");
    const certIdAsn = asn1js.fromBER(r.certId.certIdDer);
    if (certIdAsn.offset !== r.certId.certIdDer.length) throw invalidInput("certIdDer is not a single DER CertID");
    return new pkijs.SingleResponse({
      certID: new pkijs.CertID({ schema: certIdAsn.result }),
      certStatus: encodeCertStatus(r.status),
      thisUpdate: wholeSeconds(r.thisUpdate),
      nextUpdate: wholeSeconds(r.nextUpdate),
    });
  });

  const tbsResponseData = new pkijs.ResponseData({
    responderID: new asn1js.OctetString({ valueHex: responder.keyHash.slice().buffer }),
    producedAt: wholeSeconds(params.producedAt),
    responses,
    ...(params.nonce
      ? { responseExtensions: [new pkijs.Extension({ extnID: OID_NONCE, critical: false, extnValue: params.nonce.slice().buffer })] }
      : {}),
  });
  // Sign exactly the bytes that will be emitted: pkijs re-emits tbsView when serialising.
  const tbs = new Uint8Array(tbsResponseData.toSchema(true).toBER());
  tbsResponseData.tbsView = tbs;
  const signature = await params.signer.sign(tbs);

  const oid = params.signer.signatureOid;
  const basic = new pkijs.BasicOCSPResponse({
    tbsResponseData,
    signatureAlgorithm: new pkijs.AlgorithmIdentifier(
      // ECDSA: parameters absent; PKCS#1 v1.5 RSA: explicit NULL.
      oid.startsWith(OID_PKCS1_PREFIX) ? { algorithmId: oid, algorithmParams: new asn1js.Null() } : { algorithmId: oid },
    ),
    signature: new asn1js.BitString({ valueHex: signature.slice().buffer }),
  });
  const basicSchema = basic.toSchema() as asn1js.Sequence;
  if (params.includeResponderCert ?? true) {
    // certs [0] EXPLICIT SEQUENCE OF Certificate, with the certificate's own DER bytes.
    basicSchema.valueBlock.value.push(
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [new asn1js.Sequence({ value: [responder.node] })],
      }),
    );
  }
  const response = new pkijs.OCSPResponse({
    responseStatus: new asn1js.Enumerated({ value: 0 }), // successful
    responseBytes: new pkijs.ResponseBytes({
      responseType: OID_BASIC_RESPONSE,
      response: new asn1js.OctetString({ valueHex: basicSchema.toBER() }),
    }),
  });
  return new Uint8Array(response.toSchema().toBER());
}

const errorResponses = new Map<OcspErrorStatus, Uint8Array<ArrayBuffer>>();

/** The unsigned OCSPResponse for an error status (RFC 6960 §4.2.1): just the status, no responseBytes. */
export function ocspErrorResponse(status: OcspErrorStatus): Uint8Array<ArrayBuffer> {
  const code = OCSP_ERROR_STATUSES[status];
  if (code === undefined) throw invalidInput(`unknown OCSP error status: ${String(status)}`);
  let der = errorResponses.get(status);
  if (!der) {
    der = new Uint8Array(new pkijs.OCSPResponse({ responseStatus: new asn1js.Enumerated({ value: code }) }).toSchema().toBER());
    errorResponses.set(status, der);
  }
  return der.slice();
}

/**
 * Decodes the last path part of an RFC 6960 GET request (Appendix A.1: URL-encoded base64 of the
 * DER request; the router must pass everything after the responder prefix, since base64 may
 * contain "/"). Tolerates base64url. Throws OcspRequestError("malformedRequest").
 */
export function decodeOcspGetPath(encoded: string): Uint8Array<ArrayBuffer> {
  let b64: string;
  try {
    b64 = decodeURIComponent(encoded).replace(/^\/+/, "");
  } catch {
    throw malformed("bad URL encoding");
  }
  // Some clients leave "+" unencoded and proxies then turn it into a space.
  b64 = b64.replace(/ /g, "+").replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw malformed("bad base64");
  return new Uint8Array(Buffer.from(b64, "base64"));
}
