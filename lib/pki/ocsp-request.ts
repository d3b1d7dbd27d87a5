// OCSPRequest reader (RFC 6960 §4.1.1): a small, strict DER walk over the request bytes. It runs
// for every fresh (nonce) answer, where asn1js's generic decoder plus the tree walk cost more
// than signing the answer. Anything that is not exactly one well-formed DER request with at least
// one CertID is refused with OcspRequestError("malformedRequest").
import { PkiError } from "./errors";
import { decodeOid, serialHexOfContent } from "./der";

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

/** RFC 9654 (obsoletes RFC 8954): nonces of 1..128 octets; anything else is malformedRequest. */
const NONCE_MAX = 128;
/** id-pkix-ocsp-nonce (1.3.6.1.5.5.7.48.1.2) as DER content octets. */
const OID_NONCE = Uint8Array.of(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02);
/** Nesting allowed inside the parts that are only checked, never read (signature, requestorName, extensions). */
const MAX_DEPTH = 24;

const T_BOOLEAN = 0x01;
const T_INTEGER = 0x02;
const T_OCTET_STRING = 0x04;
const T_OID = 0x06;
const T_SEQUENCE = 0x30;
const T_CTX0 = 0xa0;
const T_CTX1 = 0xa1;
const T_CTX2 = 0xa2;

/**
 * A plain Uint8Array copy of buf[start, end): what a request yields outlives the request bytes,
 * and Buffer.prototype.slice (the HTTP body is a Buffer) would only make a view.
 */
const copyOf = (buf: Uint8Array, start: number, end: number) => new Uint8Array(buf.subarray(start, end));

const malformed = (why: string) => new OcspRequestError("malformedRequest", `malformed OCSP request: ${why}`);

/**
 * Cursor over DER elements. After next(), `tag`, `start` (content) and `end` describe the element
 * read; nothing is allocated per element. Single-byte tags, definite minimal lengths, and no
 * element may overrun its container.
 */
class Reader {
  tag = 0;
  offset = 0;
  start = 0;
  end = 0;
  constructor(readonly buf: Uint8Array) {}

  /** Reads the element at `pos`, which must end by `limit`. */
  next(pos: number, limit: number): this {
    const buf = this.buf;
    if (pos + 2 > limit) throw malformed("truncated");
    const tag = buf[pos];
    if ((tag & 0x1f) === 0x1f) throw malformed("multi-byte tag");
    let p = pos + 1;
    let len = buf[p++];
    if (len >= 0x80) {
      const n = len & 0x7f;
      // Over 4 length octets would not fit in a request anyway (bodies are limited far below that).
      if (n === 0 || n > 4) throw malformed(n === 0 ? "indefinite length" : "oversized length");
      if (p + n > limit) throw malformed("truncated length");
      if (buf[p] === 0) throw malformed("non-minimal length");
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
      if (len < 0x80) throw malformed("non-minimal length");
    }
    if (p + len > limit) throw malformed("element overruns its container");
    this.tag = tag;
    this.offset = pos;
    this.start = p;
    this.end = p + len;
    return this;
  }

  expect(pos: number, limit: number, tag: number, what: string): this {
    if (this.next(pos, limit).tag !== tag) throw malformed(what);
    return this;
  }
}

/** Checks that [pos, limit) is a sequence of well-formed elements (recursing into constructed ones). */
function checkElements(r: Reader, pos: number, limit: number, depth: number): void {
  if (depth > MAX_DEPTH) throw malformed("nested too deeply");
  while (pos < limit) {
    r.next(pos, limit);
    const { tag, start, end } = r;
    if (tag & 0x20) checkElements(r, start, end, depth + 1);
    else if (tag === T_BOOLEAN && end - start !== 1) throw malformed("BOOLEAN");
    pos = end;
  }
}

/** Checks one whole element at `pos` (a single element filling [pos, limit)). */
function checkSingle(r: Reader, pos: number, limit: number, what: string): void {
  const end = r.next(pos, limit).end;
  if (end !== limit) throw malformed(what);
  checkElements(r, pos, limit, 0);
}

/** der.ts's decodeOid, failing as a malformed request; a bound on length first, as the bytes come from anyone. */
function oidToString(buf: Uint8Array, start: number, end: number): string {
  if (end - start > 64) throw malformed("OBJECT IDENTIFIER too long");
  try {
    return decodeOid(buf, start, end);
  } catch (e) {
    throw malformed((e as Error).message);
  }
}

/** CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash, issuerKeyHash OCTET STRING, serialNumber INTEGER } */
function readCertId(r: Reader, pos: number, limit: number, validated: WeakSet<Uint8Array>): OcspCertId {
  const buf = r.buf;
  r.expect(pos, limit, T_SEQUENCE, "CertID");
  const idStart = r.offset;
  const idEnd = r.end;
  let p = r.start;

  // AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }
  r.expect(p, idEnd, T_SEQUENCE, "CertID hashAlgorithm");
  const algEnd = r.end;
  p = algEnd;
  r.expect(r.start, algEnd, T_OID, "CertID hashAlgorithm");
  const hashAlgorithmOid = oidToString(buf, r.start, r.end);
  if (r.end < algEnd) checkSingle(r, r.end, algEnd, "CertID hashAlgorithm");

  r.expect(p, idEnd, T_OCTET_STRING, "CertID issuerNameHash");
  const issuerNameHash = copyOf(buf, r.start, r.end);
  p = r.end;
  r.expect(p, idEnd, T_OCTET_STRING, "CertID issuerKeyHash");
  const issuerKeyHash = copyOf(buf, r.start, r.end);
  p = r.end;
  r.expect(p, idEnd, T_INTEGER, "CertID serialNumber");
  if (r.end === r.start) throw malformed("empty serial number");
  const serialHex = serialHexOfContent(buf.subarray(r.start, r.end));
  if (r.end !== idEnd) throw malformed("CertID");

  const certIdDer = copyOf(buf, idStart, idEnd);
  validated.add(certIdDer);
  return { hashAlgorithmOid, issuerNameHash, issuerKeyHash, serialHex, certIdDer };
}

/** Reads a standalone DER CertID (all of `der`); throws OcspRequestError("malformedRequest"). */
export function readCertIdDer(der: Uint8Array): OcspCertId {
  const r = new Reader(der);
  const certId = readCertId(r, 0, der.length, new WeakSet());
  if (r.end !== der.length) throw malformed("trailing bytes after the CertID");
  return certId;
}

/**
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension; Extension ::= SEQUENCE { extnID OBJECT
 * IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. Returns the first nonce
 * extension's extnValue contents, if any.
 */
function readExtensions(r: Reader, pos: number, limit: number): Uint8Array | undefined {
  const buf = r.buf;
  r.expect(pos, limit, T_SEQUENCE, "Extensions");
  if (r.end !== limit) throw malformed("Extensions");
  const seqEnd = r.end;
  let nonce: Uint8Array | undefined;
  for (let p = r.start; p < seqEnd; ) {
    r.expect(p, seqEnd, T_SEQUENCE, "Extension");
    const extEnd = r.end;
    p = extEnd;
    r.expect(r.start, extEnd, T_OID, "Extension extnID");
    if (r.end === r.start) throw malformed("Extension extnID");
    const idStart = r.start;
    const idEnd = r.end;
    r.next(idEnd, extEnd);
    if (r.tag === T_BOOLEAN) {
      if (r.end - r.start !== 1) throw malformed("Extension critical");
      r.next(r.end, extEnd);
    }
    if (r.tag !== T_OCTET_STRING || r.end !== extEnd) throw malformed("Extension extnValue");
    if (nonce === undefined && isNonceOid(buf, idStart, idEnd)) nonce = copyOf(buf, r.start, r.end);
  }
  return nonce;
}

function isNonceOid(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start !== OID_NONCE.length) return false;
  for (let i = 0; i < OID_NONCE.length; i++) if (buf[start + i] !== OID_NONCE[i]) return false;
  return true;
}

/**
 * RFC 9654 wraps the nonce in an OCTET STRING inside extnValue (OpenSSL does); older clients put
 * raw bytes there. Either way the whole extnValue is echoed; the size rule applies to the nonce.
 */
function nonceLength(nonce: Uint8Array): number {
  if (nonce.length >= 2 && nonce[0] === T_OCTET_STRING) {
    try {
      const r = new Reader(nonce).next(0, nonce.length);
      if (r.end === nonce.length) return r.end - r.start;
    } catch {
      // not a single OCTET STRING: raw nonce bytes
    }
  }
  return nonce.length;
}

/**
 * Parses a DER OCSPRequest. `validated` receives every certIdDer returned (the response builder
 * echoes those without checking them again).
 */
export function readOcspRequest(der: Uint8Array, validated: WeakSet<Uint8Array>): OcspRequestInfo {
  if (!(der instanceof Uint8Array) || der.length === 0) throw malformed("empty body");
  const r = new Reader(der);
  // OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
  r.expect(0, der.length, T_SEQUENCE, "not an OCSPRequest");
  if (r.end !== der.length) throw malformed("trailing bytes after the request");
  const topEnd = r.end;
  r.expect(r.start, topEnd, T_SEQUENCE, "not an OCSPRequest");
  const tbsStart = r.start;
  const tbsEnd = r.end;
  if (tbsEnd < topEnd) {
    r.expect(tbsEnd, topEnd, T_CTX0, "not an OCSPRequest");
    if (r.end !== topEnd) throw malformed("not an OCSPRequest");
    checkElements(r, r.start, r.end, 1);
  }

  // TBSRequest ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, requestorName [1] EXPLICIT OPTIONAL,
  //   requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
  let p = r.next(tbsStart, tbsEnd).offset;
  if (r.tag === T_CTX0) {
    const end = r.end;
    r.expect(r.start, end, T_INTEGER, "version");
    if (r.end !== end || r.end === r.start) throw malformed("version");
    p = r.next(end, tbsEnd).offset;
  }
  if (r.tag === T_CTX1) {
    const end = r.end;
    checkSingle(r, r.start, end, "requestorName");
    p = r.next(end, tbsEnd).offset;
  }
  r.expect(p, tbsEnd, T_SEQUENCE, "requestList");
  const listStart = r.start;
  const listEnd = r.end;
  let nonce: Uint8Array | undefined;
  if (listEnd < tbsEnd) {
    r.expect(listEnd, tbsEnd, T_CTX2, "requestExtensions");
    if (r.end !== tbsEnd) throw malformed("not an OCSPRequest");
    nonce = readExtensions(r, r.start, r.end);
  }
  if (listStart === listEnd) throw malformed("no CertID in requestList");

  // Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
  const requests: OcspCertId[] = [];
  for (let q = listStart; q < listEnd; ) {
    r.expect(q, listEnd, T_SEQUENCE, "Request");
    const itemEnd = r.end;
    q = itemEnd;
    const certId = readCertId(r, r.start, itemEnd, validated);
    const afterCertId = r.end;
    if (afterCertId < itemEnd) {
      r.expect(afterCertId, itemEnd, T_CTX0, "Request");
      if (r.end !== itemEnd) throw malformed("Request");
      checkElements(r, r.start, r.end, 1);
    }
    requests.push(certId);
  }

  if (nonce) {
    const length = nonceLength(nonce);
    if (length === 0 || length > NONCE_MAX) throw malformed(`nonce of ${length} octets`);
  }
  return { requests, nonce };
}
