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
import { bytesEqual, invalidInput, parseCertificateParts, readTlv, serialHexOfContent, toHex, type CertificateParts } from "./der";

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

// The request is decoded by asn1js alone and its tree walked here: pkijs.OCSPRequest's schema
// comparison and object building cost several times the decode itself. The walk enforces the
// RFC 6960 §4.1.1 structure pkijs checked (tags, element order, OPTIONAL/DEFAULT fields).
const FROM_BER_OPTIONS: asn1js.FromBerOptions = { copyInput: false, parseEmbedded: false };

function hasTag(block: asn1js.AsnType | undefined, tagClass: number, tagNumber: number): boolean {
  return !!block && block.idBlock.tagClass === tagClass && block.idBlock.tagNumber === tagNumber;
}

/** The children of a constructed element with the given tag (UNIVERSAL by default), else malformed. */
function childrenOfNode(block: asn1js.AsnType | undefined, what: string, tagNumber = 16, tagClass = 1): asn1js.AsnType[] {
  if (!(block instanceof asn1js.Constructed) || !hasTag(block, tagClass, tagNumber)) throw malformed(what);
  return block.valueBlock.value;
}

/** Content octets of a primitive OCTET STRING (DER: never the constructed form). */
function octetsOf(block: asn1js.AsnType | undefined, what: string): Uint8Array {
  if (!(block instanceof asn1js.OctetString) || block.valueBlock.isConstructed) throw malformed(what);
  return block.valueBlock.valueHexView;
}

/** CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash, issuerKeyHash OCTET STRING, serialNumber INTEGER } */
function readCertId(block: asn1js.AsnType | undefined): OcspCertId {
  const [alg, nameHash, keyHash, serial, ...rest] = childrenOfNode(block, "CertID");
  if (rest.length !== 0) throw malformed("CertID");
  const [algOid, ...algParams] = childrenOfNode(alg, "CertID hashAlgorithm");
  if (!(algOid instanceof asn1js.ObjectIdentifier) || algParams.length > 1) throw malformed("CertID hashAlgorithm");
  if (!(serial instanceof asn1js.Integer)) throw malformed("CertID serialNumber");
  const serialBytes = serial.valueBlock.valueHexView;
  if (serialBytes.length === 0) throw malformed("empty serial number");
  const certIdDer = new Uint8Array((block as asn1js.AsnType).valueBeforeDecodeView);
  validatedCertIds.add(certIdDer);
  return {
    hashAlgorithmOid: algOid.getValue(),
    issuerNameHash: octetsOf(nameHash, "CertID issuerNameHash").slice(),
    issuerKeyHash: octetsOf(keyHash, "CertID issuerKeyHash").slice(),
    serialHex: serialHexOfContent(serialBytes),
    certIdDer,
  };
}

/** The nonce extension's extnValue contents from Extensions (SEQUENCE OF Extension), if present. */
function readNonce(block: asn1js.AsnType | undefined): Uint8Array | undefined {
  let nonce: Uint8Array | undefined;
  for (const ext of childrenOfNode(block, "requestExtensions")) {
    const fields = childrenOfNode(ext, "Extension");
    const [extnId] = fields;
    const hasCritical = fields[1] instanceof asn1js.Boolean;
    if (!(extnId instanceof asn1js.ObjectIdentifier) || fields.length !== (hasCritical ? 3 : 2)) throw malformed("Extension");
    const extnValue = octetsOf(fields[fields.length - 1], "Extension extnValue");
    if (nonce === undefined && extnId.getValue() === OID_NONCE) nonce = extnValue.slice();
  }
  return nonce;
}

/** CertID bytes produced by parseOcspRequest: already checked, echoed without decoding again. */
const validatedCertIds = new WeakSet<Uint8Array>();

/**
 * Parses a DER OCSPRequest. Throws OcspRequestError("malformedRequest") for anything that is not
 * exactly one well-formed request with at least one CertID.
 */
export function parseOcspRequest(der: Uint8Array): OcspRequestInfo {
  if (!(der instanceof Uint8Array) || der.length === 0) throw malformed("empty body");
  // Decoded from a private copy: the CertID bytes are sliced out of it below.
  const asn = asn1js.fromBER(der.slice(), FROM_BER_OPTIONS);
  if (asn.offset === -1) throw malformed("not ASN.1");
  if (asn.offset !== der.length) throw malformed("trailing bytes after the request");

  // OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
  const top = childrenOfNode(asn.result, "not an OCSPRequest");
  if (top.length < 1 || top.length > 2 || (top.length === 2 && !hasTag(top[1], 3, 0))) throw malformed("not an OCSPRequest");
  // TBSRequest ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, requestorName [1] EXPLICIT OPTIONAL,
  //   requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
  const tbs = childrenOfNode(top[0], "not an OCSPRequest");
  let i = 0;
  if (hasTag(tbs[i], 3, 0)) {
    const [version, ...extra] = childrenOfNode(tbs[i++], "version", 0, 3);
    if (!(version instanceof asn1js.Integer) || extra.length !== 0) throw malformed("version");
  }
  if (hasTag(tbs[i], 3, 1)) {
    if (childrenOfNode(tbs[i++], "requestorName", 1, 3).length !== 1) throw malformed("requestorName");
  }
  const list = childrenOfNode(tbs[i++], "requestList");
  let extensions: asn1js.AsnType | undefined;
  if (i < tbs.length) {
    const [exts, ...extra] = childrenOfNode(tbs[i++], "requestExtensions", 2, 3);
    if (extra.length !== 0) throw malformed("requestExtensions");
    extensions = exts;
  }
  if (i !== tbs.length) throw malformed("not an OCSPRequest");
  if (list.length === 0) throw malformed("no CertID in requestList");

  // Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
  const requests = list.map((item): OcspCertId => {
    const fields = childrenOfNode(item, "Request");
    if (fields.length > 2 || (fields.length === 2 && !hasTag(fields[1], 3, 0))) throw malformed("Request");
    return readCertId(fields[0]);
  });

  const nonce = extensions ? readNonce(extensions) : undefined;
  if (nonce) {
    // RFC 9654 wraps the nonce in an OCTET STRING inside extnValue (OpenSSL does); older clients
    // put raw bytes there. Either way the whole extnValue is echoed; the size rule applies to the nonce.
    const inner = asn1js.fromBER(nonce, FROM_BER_OPTIONS);
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

/**
 * An asn1js node for an element already in DER (`der` is one whole TLV with a single-byte tag):
 * a Primitive with the element's tag whose value is the encoded contents, so toBER() copies the
 * bytes instead of re-encoding a decoded tree node by node (asn1js 4 spends ~0.4 ms re-encoding a
 * certificate). Used for constant parts encoded once through asn1js and for CertIDs echoed verbatim.
 */
function preEncoded(der: Uint8Array): asn1js.Primitive {
  const header = readTlv(der, 0);
  if (header.end !== der.length) throw invalidInput("not a single DER element");
  const tag = der[0];
  const node = new asn1js.Primitive({
    idBlock: { tagClass: (tag >> 6) + 1, tagNumber: tag & 0x1f },
    valueHex: der.slice(header.start, header.end),
  });
  node.idBlock.isConstructed = (tag & 0x20) !== 0;
  return node;
}

const encode = (node: asn1js.AsnType): Uint8Array<ArrayBuffer> => new Uint8Array(node.toBER());

/**
 * Encodes a tree holding reused nodes. asn1js keeps `lenBlock.longFormUsed` once a node was
 * encoded with a length over 127, which would make a later, shorter encoding non-DER; reset it.
 */
function encodeReused(node: asn1js.AsnType): Uint8Array<ArrayBuffer> {
  const reset = (block: asn1js.AsnType) => {
    block.lenBlock.longFormUsed = false;
    if (block instanceof asn1js.Constructed) for (const child of block.valueBlock.value) reset(child);
  };
  reset(node);
  return encode(node);
}
const explicit = (tagNumber: number, inner: asn1js.AsnType) =>
  new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber }, value: [inner] });

interface ResponderInfo {
  parts: CertificateParts;
  /** responderID byKey: [2] EXPLICIT KeyHash, SHA-1 of the subjectPublicKey BIT STRING contents (RFC 6960 §4.2.1). */
  responderId: asn1js.Primitive;
  /** certs [0] EXPLICIT SEQUENCE OF Certificate holding the responder certificate's own DER bytes. */
  certs: asn1js.Primitive;
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
    const keyHash = new Uint8Array(createHash("sha1").update(parts.subjectPublicKeyBits).digest());
    info = {
      parts,
      responderId: preEncoded(encode(explicit(2, new asn1js.OctetString({ valueHex: keyHash })))),
      certs: preEncoded(encode(explicit(0, new asn1js.Sequence({ value: [preEncoded(der)] })))),
    };
    responderCache.set(cert, info);
  }
  return info;
}

/** Constant nodes, encoded once through asn1js. */
const constants = {
  sequenceTag: 0x30,
  successful: preEncoded(encode(new asn1js.Enumerated({ value: 0 }))),
  basicResponseType: preEncoded(encode(new asn1js.ObjectIdentifier({ value: OID_BASIC_RESPONSE }))),
  nonceId: preEncoded(encode(new asn1js.ObjectIdentifier({ value: OID_NONCE }))),
  good: preEncoded(encode(new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 } }))), // [0] IMPLICIT NULL
  unknown: preEncoded(encode(new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 2 } }))), // [2] IMPLICIT NULL
};
const signatureAlgorithms = new Map<string, asn1js.Primitive>();

function signatureAlgorithm(oid: string): asn1js.Primitive {
  let node = signatureAlgorithms.get(oid);
  if (!node) {
    const value: asn1js.AsnType[] = [new asn1js.ObjectIdentifier({ value: oid })];
    // ECDSA: parameters absent; PKCS#1 v1.5 RSA: explicit NULL.
    if (oid.startsWith(OID_PKCS1_PREFIX)) value.push(new asn1js.Null());
    node = preEncoded(encode(new asn1js.Sequence({ value })));
    signatureAlgorithms.set(oid, node);
  }
  return node;
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

const generalizedTime = (date: Date) => new asn1js.GeneralizedTime({ valueDate: wholeSeconds(date) });

/**
 * producedAt/thisUpdate (GeneralizedTime) and nextUpdate ([0] EXPLICIT GeneralizedTime) nodes,
 * encoded once per second: a busy responder stamps thousands of answers with the same times.
 */
const timeNodes = new Map<string, asn1js.Primitive>();
function timeNode(date: Date, nextUpdate = false): asn1js.Primitive {
  const time = wholeSeconds(date);
  const key = `${nextUpdate ? "n" : "t"}${time.getTime()}`;
  let node = timeNodes.get(key);
  if (!node) {
    const gt = new asn1js.GeneralizedTime({ valueDate: time });
    node = preEncoded(encode(nextUpdate ? explicit(0, gt) : gt));
    if (timeNodes.size >= 64) timeNodes.clear();
    timeNodes.set(key, node);
  }
  return node;
}

function encodeCertStatus(status: OcspCertStatus): asn1js.AsnType {
  switch (status.type) {
    case "good":
      return constants.good;
    case "unknown":
      return constants.unknown;
    case "revoked": {
      const value: asn1js.AsnType[] = [generalizedTime(status.revokedAt)];
      if (status.reason !== undefined) {
        const code = revocationReasonCode(status.reason);
        if (code === REVOCATION_REASONS.removeFromCRL) throw invalidInput("removeFromCRL is not a revocation reason");
        // Like CRL entries, unspecified is expressed by leaving the reason out.
        if (code !== REVOCATION_REASONS.unspecified) value.push(explicit(0, new asn1js.Enumerated({ value: code })));
      }
      return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value }); // [1] IMPLICIT RevokedInfo
    }
  }
}

/** Checks CertID bytes that did not come from parseOcspRequest (those were checked while parsing). */
function checkCertIdDer(certIdDer: Uint8Array): void {
  if (validatedCertIds.has(certIdDer)) return;
  const asn = asn1js.fromBER(certIdDer.slice(), FROM_BER_OPTIONS);
  if (asn.offset !== certIdDer.length) throw invalidInput("certIdDer is not a single DER CertID");
  try {
    readCertId(asn.result);
  } catch {
    throw invalidInput("certIdDer is not a single DER CertID");
  }
}

/** Points a preEncoded() node at another element with the same tag. */
function setEncoded(node: asn1js.Primitive, der: Uint8Array): asn1js.Primitive {
  const header = readTlv(der, 0);
  if (header.end !== der.length || der[0] !== constants.sequenceTag) throw invalidInput("not a single DER SEQUENCE");
  node.valueBlock.valueHexView = der.subarray(header.start, header.end);
  return node;
}

/**
 * asn1js nodes reused by every response (asn1js 4 spends more building a node than encoding it).
 * Their payloads are set right before a synchronous toBER(), so interleaved async calls cannot
 * see each other's values: the ResponseData is fully encoded before the signing await, the
 * BasicOCSPResponse and OCSPResponse after it.
 */
const frames = (() => {
  const nonceValue = new asn1js.OctetString();
  const basicOctets = new asn1js.OctetString();
  return {
    certId: preEncoded(Uint8Array.of(constants.sequenceTag, 0)),
    singleResponse: new asn1js.Sequence(),
    responses: new asn1js.Sequence(),
    nonceValue,
    // responseExtensions [1] EXPLICIT SEQUENCE OF Extension { extnID, critical DEFAULT FALSE (omitted), extnValue }
    nonceExtensions: explicit(1, new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [constants.nonceId, nonceValue] })] })),
    tbs: new asn1js.Sequence(),
    tbsEncoded: preEncoded(Uint8Array.of(constants.sequenceTag, 0)),
    signature: new asn1js.BitString(),
    basic: new asn1js.Sequence(),
    basicOctets,
    // OCSPResponse ::= SEQUENCE { responseStatus, responseBytes [0] EXPLICIT ResponseBytes { responseType, response OCTET STRING } }
    response: new asn1js.Sequence({
      value: [constants.successful, explicit(0, new asn1js.Sequence({ value: [constants.basicResponseType, basicOctets] }))],
    }),
  };
})();

/**
 * Builds and signs a successful OCSPResponse carrying a BasicOCSPResponse; returns its DER.
 * The structures are asn1js node trees built directly (no pkijs objects, nothing rebuilt): the
 * ResponseData is encoded once, those exact bytes are signed, then embedded as they are.
 */
export async function buildOcspResponse(params: BuildOcspResponseParams): Promise<Uint8Array<ArrayBuffer>> {
  if (params.responses.length === 0) throw invalidInput("an OCSP response needs at least one SingleResponse");
  const responder = responderInfo(params.responderCertificate);
  await assertSignerMatches(params.signer, responder.parts);

  // SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate, nextUpdate [0] EXPLICIT OPTIONAL }
  const single = params.responses.length === 1;
  const responses = params.responses.map((r) => {
    if (!(r.nextUpdate.getTime() > r.thisUpdate.getTime())) throw invalidInput("nextUpdate must be after thisUpdate");
    checkCertIdDer(r.certId.certIdDer);
    const certId = single ? setEncoded(frames.certId, r.certId.certIdDer) : preEncoded(r.certId.certIdDer);
    const node = single ? frames.singleResponse : new asn1js.Sequence();
    node.valueBlock.value = [certId, encodeCertStatus(r.status), timeNode(r.thisUpdate), timeNode(r.nextUpdate, true)];
    return node;
  });

  // ResponseData ::= SEQUENCE { version [0] DEFAULT v1, responderID, producedAt, responses,
  //   responseExtensions [1] EXPLICIT Extensions OPTIONAL }
  frames.responses.valueBlock.value = responses;
  const tbsFields: asn1js.AsnType[] = [responder.responderId, timeNode(params.producedAt), frames.responses];
  if (params.nonce) {
    frames.nonceValue.valueBlock.valueHexView = params.nonce.slice();
    tbsFields.push(frames.nonceExtensions);
  }
  frames.tbs.valueBlock.value = tbsFields;
  const tbs = encodeReused(frames.tbs);
  const signature = await params.signer.sign(tbs);

  // BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT OPTIONAL }
  frames.signature.valueBlock.valueHexView = signature.slice();
  const basicFields: asn1js.AsnType[] = [setEncoded(frames.tbsEncoded, tbs), signatureAlgorithm(params.signer.signatureOid), frames.signature];
  if (params.includeResponderCert ?? true) basicFields.push(responder.certs);
  frames.basic.valueBlock.value = basicFields;
  frames.basicOctets.valueBlock.valueHexView = encodeReused(frames.basic);
  return encodeReused(frames.response);
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
