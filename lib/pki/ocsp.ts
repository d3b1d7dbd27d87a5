// OCSP responder core (RFC 6960, RFC 5019 lightweight profile): parse requests, match them to an
// issuing CA, build signed responses and the unsigned error responses. Requests are read by a
// strict hand-written DER walk (ocsp-request.ts) and responses written as DER bytes directly:
// both run for every nonce answer, where asn1js's generic decoding and encoding cost more than the
// signature. The HTTP handler, status lookups and caching live above this module.
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { createHash } from "node:crypto";
import { X509Certificate, crypto } from "./x509";
import type { Signer } from "./signer";
import { REVOCATION_REASONS, revocationReasonCode, type RevocationReasonName } from "./revocation-reasons";
import { signatureAlgorithmIdentifier } from "./algorithm-identifier";
import { certificateDer } from "./certificate";
import { PkiError } from "./errors";
import { bytesEqual, encodeOid, headerSize, invalidInput, parseCertificateParts, tlv, toHex, writeHeader, encodeGeneralizedTime, type CertificateParts } from "./der";
import { OCSP_ERROR_STATUSES, OcspRequestError, readCertIdDer, readOcspRequest, type OcspCertId, type OcspErrorStatus, type OcspRequestInfo } from "./ocsp-request";

export { OCSP_ERROR_STATUSES, OcspRequestError, type OcspCertId, type OcspErrorStatus, type OcspRequestInfo } from "./ocsp-request";

const OID_NONCE = "1.3.6.1.5.5.7.48.1.2";
const OID_BASIC_RESPONSE = "1.3.6.1.5.5.7.48.1.1";

/** CertID hash algorithms CertFleet recognises (OpenSSL defaults to SHA-1; `-sha256` is common). */
const CERTID_HASHES: Record<string, "sha1" | "sha256" | "sha384" | "sha512"> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

const malformed = (why: string) => new OcspRequestError("malformedRequest", `malformed OCSP request: ${why}`);

/** CertID bytes produced by parseOcspRequest: already checked, echoed without decoding again. */
const validatedCertIds = new WeakSet<Uint8Array>();

/**
 * Parses a DER OCSPRequest. Throws OcspRequestError("malformedRequest") for anything that is not
 * exactly one well-formed request with at least one CertID.
 */
export function parseOcspRequest(der: Uint8Array): OcspRequestInfo {
  return readOcspRequest(der, validatedCertIds);
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

/** Constant elements. */
const constants = {
  successful: Uint8Array.of(0x0a, 0x01, 0x00), // responseStatus ENUMERATED successful(0)
  basicResponseType: encodeOid(OID_BASIC_RESPONSE),
  nonceId: encodeOid(OID_NONCE),
  good: Uint8Array.of(0x80, 0x00), // [0] IMPLICIT NULL
  unknown: Uint8Array.of(0x82, 0x00), // [2] IMPLICIT NULL
};

interface ResponderInfo {
  parts: CertificateParts;
  /** responderID byKey: [2] EXPLICIT KeyHash, SHA-1 of the subjectPublicKey BIT STRING contents (RFC 6960 §4.2.1). */
  responderId: Uint8Array;
  /** certs [0] EXPLICIT SEQUENCE OF Certificate holding the responder certificate's own DER bytes. */
  certs: Uint8Array;
}
const responderCache = new WeakMap<object, ResponderInfo>();
const signerKeyCache = new WeakMap<CryptoKey, Uint8Array>();

function responderInfo(cert: Uint8Array | X509Certificate): ResponderInfo {
  let info = responderCache.get(cert);
  if (!info) {
    const der = certificateDer(cert);
    const parts = parseCertificateParts(der);
    const keyHash = new Uint8Array(createHash("sha1").update(parts.subjectPublicKeyBits).digest());
    info = {
      parts,
      responderId: tlv(0xa2, tlv(0x04, keyHash)),
      certs: tlv(0xa0, tlv(0x30, der)),
    };
    responderCache.set(cert, info);
  }
  return info;
}

/** Refuses a signer whose key is not the responder certificate's; synchronous once the key was exported (no promise per answer). */
function assertSignerMatches(signer: Signer, parts: CertificateParts): void | Promise<void> {
  const spki = signerKeyCache.get(signer.publicKey);
  if (!spki) {
    return crypto.subtle.exportKey("spki", signer.publicKey).then((exported) => {
      signerKeyCache.set(signer.publicKey, new Uint8Array(exported));
      return assertSignerMatches(signer, parts);
    });
  }
  if (!bytesEqual(spki, parts.subjectPublicKeyInfoDer)) {
    throw new PkiError("SIGNER_MISMATCH", "The OCSP signer's key does not match the responder certificate.");
  }
}


/**
 * producedAt/thisUpdate (GeneralizedTime) and nextUpdate ([0] EXPLICIT GeneralizedTime), encoded
 * once per second: a busy responder stamps thousands of answers with the same times.
 */
const timeElements = { plain: new Map<number, Uint8Array>(), nextUpdate: new Map<number, Uint8Array>() };
function timeElement(date: Date, nextUpdate = false): Uint8Array {
  const cache = nextUpdate ? timeElements.nextUpdate : timeElements.plain;
  const t = Math.floor(date.getTime() / 1000);
  let der = cache.get(t);
  if (!der) {
    der = nextUpdate ? tlv(0xa0, encodeGeneralizedTime(date)) : encodeGeneralizedTime(date);
    if (cache.size >= 64) cache.clear();
    cache.set(t, der);
  }
  return der;
}

function encodeCertStatus(status: OcspCertStatus): Uint8Array {
  switch (status.type) {
    case "good":
      return constants.good;
    case "unknown":
      return constants.unknown;
    case "revoked": {
      const time = encodeGeneralizedTime(status.revokedAt);
      if (status.reason !== undefined) {
        const code = revocationReasonCode(status.reason);
        if (code === REVOCATION_REASONS.removeFromCRL) throw invalidInput("removeFromCRL is not a revocation reason");
        // Like CRL entries, unspecified is expressed by leaving the reason out.
        if (code !== REVOCATION_REASONS.unspecified) return tlv(0xa1, time, Uint8Array.of(0xa0, 0x03, 0x0a, 0x01, code)); // [1] IMPLICIT RevokedInfo
      }
      return tlv(0xa1, time);
    }
  }
}

/** Checks CertID bytes that did not come from parseOcspRequest (those were checked while parsing). */
function checkCertIdDer(certIdDer: Uint8Array): void {
  if (validatedCertIds.has(certIdDer)) return;
  try {
    readCertIdDer(certIdDer);
  } catch {
    throw invalidInput("certIdDer is not a single DER CertID");
  }
}

/**
 * Builds and signs a successful OCSPResponse carrying a BasicOCSPResponse; returns its DER.
 * Written as bytes directly: constant parts (responder ID, certificate, algorithm, times within a
 * second) are encoded once; the ResponseData is assembled around the echoed CertIDs and nonce,
 * those exact bytes are signed, then embedded as they are with the signature.
 */
export async function buildOcspResponse(params: BuildOcspResponseParams): Promise<Uint8Array<ArrayBuffer>> {
  if (params.responses.length === 0) throw invalidInput("an OCSP response needs at least one SingleResponse");
  const responder = responderInfo(params.responderCertificate);
  const checking = assertSignerMatches(params.signer, responder.parts);
  if (checking) await checking;

  // SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate, nextUpdate [0] EXPLICIT OPTIONAL }
  const singles = params.responses.map((r) => {
    if (!(r.nextUpdate.getTime() > r.thisUpdate.getTime())) throw invalidInput("nextUpdate must be after thisUpdate");
    checkCertIdDer(r.certId.certIdDer);
    return tlv(0x30, r.certId.certIdDer, encodeCertStatus(r.status), timeElement(r.thisUpdate), timeElement(r.nextUpdate, true));
  });

  // ResponseData ::= SEQUENCE { version [0] DEFAULT v1, responderID, producedAt, responses,
  //   responseExtensions [1] EXPLICIT Extensions OPTIONAL }
  // responseExtensions: SEQUENCE OF Extension { extnID, critical DEFAULT FALSE (omitted), extnValue }
  const tbs = params.nonce
    ? tlv(0x30, responder.responderId, timeElement(params.producedAt), tlv(0x30, ...singles), tlv(0xa1, tlv(0x30, tlv(0x30, constants.nonceId, tlv(0x04, params.nonce)))))
    : tlv(0x30, responder.responderId, timeElement(params.producedAt), tlv(0x30, ...singles));
  const signature = await params.signer.sign(tbs);

  // BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT OPTIONAL }
  // OCSPResponse ::= SEQUENCE { responseStatus, responseBytes [0] EXPLICIT ResponseBytes { responseType, response OCTET STRING } }
  // Sizes first, then one buffer written front to back.
  const algorithm = signatureAlgorithmIdentifier(params.signer.signatureOid);
  const certs = (params.includeResponderCert ?? true) ? responder.certs : undefined;
  const bitsLen = signature.length + 1;
  const basicContent = tbs.length + algorithm.length + headerSize(bitsLen) + bitsLen + (certs?.length ?? 0);
  const basicLen = headerSize(basicContent) + basicContent;
  const bytesContent = constants.basicResponseType.length + headerSize(basicLen) + basicLen;
  const bytesLen = headerSize(bytesContent) + bytesContent;
  const topContent = constants.successful.length + headerSize(bytesLen) + bytesLen;
  const out = new Uint8Array(headerSize(topContent) + topContent);
  let pos = writeHeader(out, 0, 0x30, topContent);
  out.set(constants.successful, pos);
  pos = writeHeader(out, pos + constants.successful.length, 0xa0, bytesLen);
  pos = writeHeader(out, pos, 0x30, bytesContent);
  out.set(constants.basicResponseType, pos);
  pos = writeHeader(out, pos + constants.basicResponseType.length, 0x04, basicLen);
  pos = writeHeader(out, pos, 0x30, basicContent);
  out.set(tbs, pos);
  pos += tbs.length;
  out.set(algorithm, pos);
  pos = writeHeader(out, pos + algorithm.length, 0x03, bitsLen);
  out[pos++] = 0; // no unused bits
  out.set(signature, pos);
  pos += signature.length;
  if (certs) out.set(certs, pos);
  return out;
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
