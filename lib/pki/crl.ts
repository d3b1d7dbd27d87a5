// X.509 v2 CRL generation (RFC 5280 §5) sized for fleets of a million certificates: each revoked
// entry is DER-encoded once (callers cache the bytes per certificate) and a CRL is the
// concatenation of those cached entries plus a small, library-encoded header and extensions.
import * as asn1js from "asn1js";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AuthorityKeyIdentifier,
  DistributionPointName,
  Extension,
  GeneralName,
  IssuingDistributionPoint,
  KeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_issuingDistributionPoint,
} from "@peculiar/asn1-x509";
import { createHash } from "node:crypto";
import { X509Certificate, crypto } from "./x509";
import type { Signer } from "./signer";
import {
  DerError,
  invalidInput,
  TAG_BIT_STRING,
  TAG_GENERALIZED_TIME,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_UTC_TIME,
  childrenOf,
  concatBytes,
  decodeTime,
  encodeTime,
  encodeUnsignedInteger,
  expectTlv,
  headerSize,
  parseCertificateParts,
  readTlv,
  serialIntegerSize,
  serialValueBytes,
  timeSize,
  tlv,
  toHex,
  writeHeader,
  writeSerialInteger,
  writeTime,
  type Tlv,
} from "./der";

/** RFC 5280 CRLReason codes (7 is unused by the standard). */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReasonName = keyof typeof REVOCATION_REASONS;
export type RevocationReasonCode = (typeof REVOCATION_REASONS)[RevocationReasonName];

/** Code → name, e.g. REVOCATION_REASON_NAMES[1] === "keyCompromise". */
export const REVOCATION_REASON_NAMES: Readonly<Record<number, RevocationReasonName>> = Object.freeze(
  Object.fromEntries(Object.entries(REVOCATION_REASONS).map(([name, code]) => [code, name])) as Record<
    number,
    RevocationReasonName
  >,
);

/** Accepts a reason code or name; returns the code or throws PkiError INVALID_INPUT. */
export function revocationReasonCode(reason: number | string): RevocationReasonCode {
  const code = typeof reason === "number" ? reason : REVOCATION_REASONS[reason as RevocationReasonName];
  if (code === undefined || REVOCATION_REASON_NAMES[code] === undefined) {
    throw invalidInput(`unknown revocation reason: ${String(reason)}`);
  }
  return code as RevocationReasonCode;
}

export interface CrlEntryInput {
  /** Certificate serial number in hex (any case, optional colons; CertFleet form from serial.ts; unpadded or colon-separated hex also accepted). */
  serialHex: string;
  revokedAt: Date;
  /** RFC 5280 reason code (or name). Omitted or unspecified(0) → no reasonCode entry extension. */
  reason?: number | RevocationReasonName;
}

// crlEntryExtensions SEQUENCE { Extension { extnID 2.5.29.21 (reasonCode), extnValue OCTET STRING
// { ENUMERATED code } } }. Fixed shape, so it is spelled out once here and checked against
// @peculiar/asn1-x509's RevokedCertificate decoder in the tests.
const REASON_EXTENSIONS = Uint8Array.of(0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x00);

/**
 * DER of one revokedCertificates element:
 *   SEQUENCE { userCertificate INTEGER, revocationDate Time, crlEntryExtensions? }.
 * Callers store these bytes with the certificate so building a CRL never re-encodes old entries.
 * Written straight into one small buffer: a first CRL for a large fleet encodes a million of these.
 */
export function encodeCrlEntry(input: CrlEntryInput): Uint8Array<ArrayBuffer> {
  let code: number = REVOCATION_REASONS.unspecified;
  if (input.reason !== undefined) {
    code = revocationReasonCode(input.reason);
    // removeFromCRL only has meaning in delta CRLs (RFC 5280 §5.3.1); CertFleet issues full CRLs,
    // where "un-revoking" a certificateHold means leaving the entry out.
    if (code === REVOCATION_REASONS.removeFromCRL) {
      throw invalidInput("removeFromCRL is only valid in delta CRLs; omit the entry instead");
    }
  }
  // unspecified SHOULD NOT be written as a reasonCode (RFC 5280 §5.3.1).
  const withReason = code !== REVOCATION_REASONS.unspecified;
  const serial = serialValueBytes(input.serialHex);
  // Content is at most 23 + 17 + 14 bytes, so the SEQUENCE length is always short-form.
  const contentLen = serialIntegerSize(serial) + timeSize(input.revokedAt) + (withReason ? REASON_EXTENSIONS.length : 0);
  const out = new Uint8Array(2 + contentLen);
  out[0] = TAG_SEQUENCE;
  out[1] = contentLen;
  let pos = writeSerialInteger(out, 2, serial);
  pos = writeTime(out, pos, input.revokedAt);
  if (withReason) {
    out.set(REASON_EXTENSIONS, pos);
    out[out.length - 1] = code;
  }
  return out;
}

export interface BuildCrlParams {
  /** The issuing CA certificate (DER or parsed); its subject and SKI name this CRL's issuer. */
  issuerCertificate: Uint8Array | X509Certificate;
  /** The CA's key; CRLs are signed by the certificate issuer itself (no indirect CRLs). */
  signer: Signer;
  /** Monotonically increasing per CA (RFC 5280 §5.2.3); at most 20 octets. */
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Pre-encoded revokedCertificates elements from encodeCrlEntry, one per serial (not checked here). */
  entries: readonly Uint8Array[];
  /**
   * Issuing Distribution Point URIs. Must contain every CRL Distribution Point URI the CA has ever
   * written into a certificate: OpenSSL rejects a CRL whose IDP matches none of the certificate's
   * CDP URIs ("different CRL scope"), and EMQX requires an IDP to be present (see BROKERS.md).
   */
  idpUris: readonly string[];
}

const OID_PKCS1_PREFIX = "1.2.840.113549.1.1.";
const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";

/**
 * AlgorithmIdentifier for a signature OID. ECDSA (RFC 5758 §3.2) and EdDSA omit parameters;
 * PKCS#1 v1.5 RSA carries an explicit NULL (RFC 4055 §5).
 */
export function encodeSignatureAlgorithm(oid: string): Uint8Array {
  if (oid === OID_RSASSA_PSS) throw invalidInput("RSASSA-PSS signatures are not supported");
  const value: asn1js.AsnType[] = [new asn1js.ObjectIdentifier({ value: oid })];
  if (oid.startsWith(OID_PKCS1_PREFIX)) value.push(new asn1js.Null());
  return new Uint8Array(new asn1js.Sequence({ value }).toBER());
}

function certificateDer(cert: Uint8Array | X509Certificate): Uint8Array {
  return cert instanceof Uint8Array ? cert : new Uint8Array(cert.rawData);
}

function encodeExtension(extnID: string, critical: boolean, value: ArrayBuffer): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new Extension({ extnID, critical, extnValue: new OctetString(value) })));
}

function isIa5Uri(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:[\x21-\x7e]+$/i.test(uri);
}

/** Builds and signs a complete CRL; returns its DER. */
export async function buildCrl(params: BuildCrlParams): Promise<Uint8Array<ArrayBuffer>> {
  const { signer, crlNumber, thisUpdate, nextUpdate, entries } = params;
  if (!(nextUpdate.getTime() > thisUpdate.getTime())) throw invalidInput("nextUpdate must be after thisUpdate");
  const numberDer = encodeUnsignedInteger(crlNumber);
  // RFC 5280 §5.2.3: conforming CRL numbers fit in 20 octets.
  if (numberDer.length - 2 > 20) throw invalidInput("crlNumber longer than 20 octets");
  const uris = [...new Set(params.idpUris)];
  if (uris.length === 0) throw invalidInput("at least one Issuing Distribution Point URI is required");
  for (const uri of uris) if (!isIa5Uri(uri)) throw invalidInput(`invalid distribution point URI: ${uri}`);

  const issuer = parseCertificateParts(certificateDer(params.issuerCertificate));
  // AKI must equal the issuer's SKI so path builders pick the right key; RFC 5280 method 1 as a
  // fallback for an issuer certificate without SKI.
  const keyId = issuer.subjectKeyIdentifier ?? new Uint8Array(createHash("sha1").update(issuer.subjectPublicKeyBits).digest());

  const aki = encodeExtension(
    id_ce_authorityKeyIdentifier,
    false,
    AsnConvert.serialize(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) })),
  );
  const number = encodeExtension(id_ce_cRLNumber, false, numberDer.slice().buffer);
  const idp = encodeExtension(
    id_ce_issuingDistributionPoint,
    true,
    AsnConvert.serialize(
      new IssuingDistributionPoint({
        distributionPoint: new DistributionPointName({
          fullName: uris.map((uri) => new GeneralName({ uniformResourceIdentifier: uri })),
        }),
      }),
    ),
  );
  const crlExtensions = tlv(0xa0, tlv(TAG_SEQUENCE, aki, number, idp));

  const algorithm = encodeSignatureAlgorithm(signer.signatureOid);
  const head = concatBytes([
    Uint8Array.of(TAG_INTEGER, 1, 1), // version v2
    algorithm,
    issuer.subjectDer,
    encodeTime(thisUpdate),
    encodeTime(nextUpdate),
  ]);

  // The revoked list is assembled by hand: one length pass, one copy pass. Walking a million
  // entries through an ASN.1 object model costs seconds and gigabytes; this costs a memcpy.
  let entriesLen = 0;
  for (const e of entries) {
    if (e[0] !== TAG_SEQUENCE) throw invalidInput("CRL entries must be DER from encodeCrlEntry");
    entriesLen += e.length;
  }
  const revokedLen = entries.length ? headerSize(entriesLen) + entriesLen : 0; // omitted when empty (§5.1.2.6)
  const tbsContentLen = head.length + revokedLen + crlExtensions.length;
  const tbs = new Uint8Array(headerSize(tbsContentLen) + tbsContentLen);
  let pos = writeHeader(tbs, 0, TAG_SEQUENCE, tbsContentLen);
  tbs.set(head, pos);
  pos += head.length;
  if (entries.length) {
    pos = writeHeader(tbs, pos, TAG_SEQUENCE, entriesLen);
    for (const e of entries) {
      tbs.set(e, pos);
      pos += e.length;
    }
  }
  tbs.set(crlExtensions, pos);
  pos += crlExtensions.length;
  if (pos !== tbs.length) throw new Error("CRL length accounting is off");

  const signature = await signer.sign(tbs);
  const sigBits = tlv(TAG_BIT_STRING, Uint8Array.of(0), signature);
  const outerLen = tbs.length + algorithm.length + sigBits.length;
  const out = new Uint8Array(headerSize(outerLen) + outerLen);
  pos = writeHeader(out, 0, TAG_SEQUENCE, outerLen);
  out.set(tbs, pos);
  pos += tbs.length;
  out.set(algorithm, pos);
  pos += algorithm.length;
  out.set(sigBits, pos);
  return out;
}

/** PEM with the label OpenSSL (and Mosquitto, EMQX) expect: "X509 CRL", not "CRL". */
export function crlToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN X509 CRL-----\n${lines.join("\n")}\n-----END X509 CRL-----\n`;
}

export interface CrlInfo {
  /** CRL Number extension value, when present. */
  number?: bigint;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Number of revokedCertificates entries. */
  count: number;
  /** Issuer Name, DER. */
  issuerDer: Uint8Array;
  /** Authority Key Identifier keyIdentifier, hex. */
  authorityKeyIdHex?: string;
  /** Issuing Distribution Point fullName URIs (empty when absent). */
  idpUris: string[];
  signatureOid: string;
}

const OID_CRL_NUMBER = "2.5.29.20";
const OID_AKI = "2.5.29.35";
const OID_IDP = "2.5.29.28";

function decodeOid(buf: Uint8Array, t: Tlv): string {
  const block = asn1js.fromBER(buf.slice(t.offset, t.end));
  if (block.offset === -1 || !(block.result instanceof asn1js.ObjectIdentifier)) throw new DerError("bad OID");
  return block.result.valueBlock.toString();
}

interface CrlLayout {
  tbs: Tlv;
  signatureAlgorithm: Tlv;
  signature: Tlv;
  fields: { issuer: Tlv; thisUpdate: Tlv; nextUpdate?: Tlv; revoked?: Tlv; extensions?: Tlv };
}

/** Locates the parts of a DER CRL without materialising its entries. */
function readCrlLayout(der: Uint8Array): CrlLayout {
  const outer = expectTlv(der, 0, TAG_SEQUENCE);
  if (outer.end !== der.length) throw new DerError("trailing bytes after CRL");
  const tbs = expectTlv(der, outer.start, TAG_SEQUENCE, outer.end);
  const signatureAlgorithm = expectTlv(der, tbs.end, TAG_SEQUENCE, outer.end);
  const signature = expectTlv(der, signatureAlgorithm.end, TAG_BIT_STRING, outer.end);
  if (signature.end !== outer.end) throw new DerError("unexpected data after CRL signature");

  let pos = tbs.start;
  const next = () => (pos < tbs.end ? readTlv(der, pos, tbs.end) : undefined);
  let t = next();
  if (t?.tag === TAG_INTEGER) {
    pos = t.end;
    t = next();
  }
  if (t?.tag !== TAG_SEQUENCE) throw new DerError("CRL signature algorithm missing");
  pos = t.end;
  const issuer = expectTlv(der, pos, TAG_SEQUENCE, tbs.end);
  pos = issuer.end;
  const thisUpdate = readTlv(der, pos, tbs.end);
  pos = thisUpdate.end;
  const fields: CrlLayout["fields"] = { issuer, thisUpdate };
  t = next();
  if (t && (t.tag === TAG_UTC_TIME || t.tag === TAG_GENERALIZED_TIME)) {
    fields.nextUpdate = t;
    pos = t.end;
    t = next();
  }
  if (t?.tag === TAG_SEQUENCE) {
    fields.revoked = t;
    pos = t.end;
    t = next();
  }
  if (t?.tag === 0xa0) {
    fields.extensions = expectTlv(der, t.start, TAG_SEQUENCE, t.end);
    pos = t.end;
    t = next();
  }
  if (t) throw new DerError("unexpected element in TBSCertList");
  return { tbs, signatureAlgorithm, signature, fields };
}

/** Reads the header facts of a DER CRL (fast: entries are counted, not decoded). */
export function parseCrlInfo(der: Uint8Array): CrlInfo {
  const { fields, signatureAlgorithm } = readCrlLayout(der);
  let count = 0;
  if (fields.revoked) {
    let pos = fields.revoked.start;
    while (pos < fields.revoked.end) {
      pos = readTlv(der, pos, fields.revoked.end).end;
      count++;
    }
  }
  const info: CrlInfo = {
    thisUpdate: decodeTime(der, fields.thisUpdate),
    nextUpdate: fields.nextUpdate ? decodeTime(der, fields.nextUpdate) : undefined,
    count,
    issuerDer: der.slice(fields.issuer.offset, fields.issuer.end),
    idpUris: [],
    signatureOid: decodeOid(der, expectTlv(der, signatureAlgorithm.start, TAG_OID, signatureAlgorithm.end)),
  };
  for (const ext of fields.extensions ? childrenOf(der, fields.extensions) : []) {
    const parts = childrenOf(der, ext);
    const oid = decodeOid(der, parts[0]);
    const valueTlv = parts[parts.length - 1];
    if (valueTlv.tag !== TAG_OCTET_STRING) throw new DerError("bad extension value");
    const value = der.slice(valueTlv.start, valueTlv.end);
    if (oid === OID_CRL_NUMBER) {
      const int = expectTlv(value, 0, TAG_INTEGER);
      info.number = BigInt(`0x${toHex(value.subarray(int.start, int.end)) || "0"}`);
    } else if (oid === OID_AKI) {
      const aki = AsnConvert.parse(value, AuthorityKeyIdentifier);
      if (aki.keyIdentifier) info.authorityKeyIdHex = toHex(new Uint8Array(aki.keyIdentifier.buffer));
    } else if (oid === OID_IDP) {
      const idp = AsnConvert.parse(value, IssuingDistributionPoint);
      for (const name of idp.distributionPoint?.fullName ?? []) {
        if (name.uniformResourceIdentifier) info.idpUris.push(name.uniformResourceIdentifier);
      }
    }
  }
  return info;
}

const SIGNATURE_HASHES: Record<string, { kind: "ECDSA" | "RSASSA-PKCS1-v1_5"; hash: string }> = {
  "1.2.840.10045.4.3.2": { kind: "ECDSA", hash: "SHA-256" },
  "1.2.840.10045.4.3.3": { kind: "ECDSA", hash: "SHA-384" },
  "1.2.840.10045.4.3.4": { kind: "ECDSA", hash: "SHA-512" },
  "1.2.840.113549.1.1.11": { kind: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  "1.2.840.113549.1.1.12": { kind: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
  "1.2.840.113549.1.1.13": { kind: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
};
const CURVE_BYTES: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/** DER ECDSA-Sig-Value → WebCrypto's fixed-width r||s. */
function ecdsaDerToRaw(sig: Uint8Array, size: number): Uint8Array {
  const seq = expectTlv(sig, 0, TAG_SEQUENCE);
  const [r, s] = childrenOf(sig, seq);
  if (!r || !s || r.tag !== TAG_INTEGER || s.tag !== TAG_INTEGER) throw new DerError("bad ECDSA signature");
  const out = new Uint8Array(2 * size);
  for (const [i, t] of [r, s].entries()) {
    let v = sig.subarray(t.start, t.end);
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new DerError("ECDSA integer too large");
    out.set(v, (i + 1) * size - v.length);
  }
  return out;
}

/**
 * Checks that `der` is a CRL issued and signed by `issuerCertificate` (issuer name bytes and
 * signature). For broker-sync and tests: never install a CRL that fails this.
 */
export async function verifyCrlSignature(der: Uint8Array, issuerCertificate: Uint8Array | X509Certificate): Promise<boolean> {
  let layout: CrlLayout;
  try {
    layout = readCrlLayout(der);
  } catch {
    return false;
  }
  const issuerCert =
    issuerCertificate instanceof X509Certificate ? issuerCertificate : new X509Certificate(issuerCertificate.slice().buffer);
  const issuer = parseCertificateParts(certificateDer(issuerCert));
  const crlIssuer = der.subarray(layout.fields.issuer.offset, layout.fields.issuer.end);
  if (Buffer.compare(crlIssuer, issuer.subjectDer) !== 0) return false;

  const oid = decodeOid(der, expectTlv(der, layout.signatureAlgorithm.start, TAG_OID, layout.signatureAlgorithm.end));
  const alg = SIGNATURE_HASHES[oid];
  if (!alg) return false;
  let signature: Uint8Array = der.slice(layout.signature.start + 1, layout.signature.end);
  const spki = issuerCert.publicKey.rawData;
  let key: CryptoKey;
  if (alg.kind === "ECDSA") {
    const namedCurve = (issuerCert.publicKey.algorithm as EcKeyAlgorithm).namedCurve;
    const size = CURVE_BYTES[namedCurve];
    if (!size) return false;
    try {
      signature = ecdsaDerToRaw(signature, size);
    } catch {
      return false;
    }
    key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve }, false, ["verify"]);
    return crypto.subtle.verify({ name: "ECDSA", hash: alg.hash }, key, signature.slice().buffer, der.slice(layout.tbs.offset, layout.tbs.end));
  }
  key = await crypto.subtle.importKey("spki", spki, { name: alg.kind, hash: alg.hash }, false, ["verify"]);
  return crypto.subtle.verify({ name: alg.kind }, key, signature.slice().buffer, der.slice(layout.tbs.offset, layout.tbs.end));
}
