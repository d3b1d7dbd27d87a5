// Reading a DER CRL back (RFC 5280 §5): the header facts, the entries and the issuer's signature.
// This is what broker-sync trusts before a broker sees a CRL, so it reads strictly and refuses what
// it cannot honour: a delta CRL, an unknown critical extension, a mismatched signature algorithm.
import { AsnConvert } from "@peculiar/asn1-schema";
import { AuthorityKeyIdentifier, IssuingDistributionPoint } from "@peculiar/asn1-x509";
import { X509Certificate, crypto } from "./x509";
import { certificateDer } from "./certificate";
import { ecdsaDerToRaw } from "./ecdsa-signature";
import { PkiError } from "./errors";
import type { RevocationReasonCode } from "./revocation-reasons";
import {
  DerError,
  TAG_BIT_STRING,
  TAG_ENUMERATED,
  TAG_GENERALIZED_TIME,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_UTC_TIME,
  bytesEqual,
  childrenOf,
  decodeOid,
  decodeTime,
  expectTlv,
  parseCertificateParts,
  readTlv,
  serialHexOfContent,
  toHex,
  type Tlv,
} from "./der";

export interface CrlInfo {
  /** 1 (no version field: no extensions either) or 2. */
  version: 1 | 2;
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

export interface CrlEntry {
  /** CertFleet's serial form (serial.ts): lowercase hex of the INTEGER's content octets. */
  serialHex: string;
  revokedAt: Date;
  /** The reasonCode entry extension; absent means unspecified (RFC 5280 §5.3.1). */
  reason?: RevocationReasonCode;
}

const OID_CRL_NUMBER = "2.5.29.20";
const OID_AKI = "2.5.29.35";
const OID_IDP = "2.5.29.28";
const OID_DELTA_CRL_INDICATOR = "2.5.29.27";
const OID_REASON_CODE = "2.5.29.21";

// Extensions a CRL may carry marked critical that this reader honours (RFC 5280 §5.2: a CRL with
// any other critical extension must not be used). The Delta CRL Indicator is read only to refuse it.
const UNDERSTOOD_CRITICAL = new Set([OID_CRL_NUMBER, OID_AKI, OID_IDP]);
// Entry extensions likewise: reasonCode and invalidityDate only inform; certificateIssuer (indirect
// CRLs) changes whose certificates the entries name, which CertFleet does not follow.
const UNDERSTOOD_CRITICAL_ENTRY = new Set([OID_REASON_CODE, "2.5.29.24"]);

const unsupported = (message: string) => new PkiError("CRL_UNSUPPORTED", message);

interface CrlLayout {
  tbs: Tlv;
  signatureAlgorithm: Tlv;
  signature: Tlv;
  fields: { version: 1 | 2; issuer: Tlv; thisUpdate: Tlv; nextUpdate?: Tlv; revoked?: Tlv; extensions?: Tlv };
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
  let version: 1 | 2 = 1;
  if (t?.tag === TAG_INTEGER) {
    // v2 is INTEGER 1; v1 is written by leaving the field out, though some writers put a 0.
    const value = t.end - t.start === 1 ? der[t.start] : -1;
    if (value !== 0 && value !== 1) throw unsupported("unsupported CRL version (only v1 and v2 exist)");
    version = value === 1 ? 2 : 1;
    pos = t.end;
    t = next();
  }
  if (t?.tag !== TAG_SEQUENCE) throw new DerError("CRL signature algorithm missing");
  // RFC 5280 §5.1.1.2: the signed copy must name the same algorithm as the outer one, or the
  // signature could be checked under an algorithm the signer never meant.
  if (!bytesEqual(der.subarray(t.offset, t.end), der.subarray(signatureAlgorithm.offset, signatureAlgorithm.end))) {
    throw new DerError("the signature algorithm inside the CRL differs from the outer one");
  }
  pos = t.end;
  const issuer = expectTlv(der, pos, TAG_SEQUENCE, tbs.end);
  pos = issuer.end;
  const thisUpdate = readTlv(der, pos, tbs.end);
  pos = thisUpdate.end;
  const fields: CrlLayout["fields"] = { version, issuer, thisUpdate };
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

interface ExtensionTlv {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING's content. */
  value: Uint8Array;
}

/** Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function readExtensions(der: Uint8Array, extensions: Tlv): ExtensionTlv[] {
  return childrenOf(der, extensions).map((ext) => {
    if (ext.tag !== TAG_SEQUENCE) throw new DerError("bad extension");
    const parts = childrenOf(der, ext);
    const [id, flag] = parts;
    const valueTlv = parts[parts.length - 1];
    if (parts.length < 2 || parts.length > 3 || id.tag !== TAG_OID || valueTlv.tag !== TAG_OCTET_STRING) throw new DerError("bad extension");
    if (parts.length === 3 && (flag.tag !== 0x01 || flag.end - flag.start !== 1)) throw new DerError("bad extension critical flag");
    return { oid: decodeOid(der, id.start, id.end), critical: parts.length === 3 && der[flag.start] !== 0, value: der.slice(valueTlv.start, valueTlv.end) };
  });
}

/** Reads the header facts of a DER CRL (fast: entries are counted, not decoded). Refuses delta CRLs. */
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
  const algorithmOid = expectTlv(der, signatureAlgorithm.start, TAG_OID, signatureAlgorithm.end);
  const info: CrlInfo = {
    version: fields.version,
    thisUpdate: decodeTime(der, fields.thisUpdate),
    nextUpdate: fields.nextUpdate ? decodeTime(der, fields.nextUpdate) : undefined,
    count,
    issuerDer: der.slice(fields.issuer.offset, fields.issuer.end),
    idpUris: [],
    signatureOid: decodeOid(der, algorithmOid.start, algorithmOid.end),
  };
  if (fields.extensions && fields.version !== 2) throw new DerError("a v1 CRL cannot carry extensions");
  for (const { oid, critical, value } of fields.extensions ? readExtensions(der, fields.extensions) : []) {
    if (oid === OID_DELTA_CRL_INDICATOR) {
      // A delta lists only the changes since its base CRL: installed in place of a complete CRL it
      // would un-revoke everything revoked before that base (RFC 5280 §5.2.4).
      const base = expectTlv(value, 0, TAG_INTEGER);
      const baseNumber = BigInt(`0x${toHex(value.subarray(base.start, base.end)) || "0"}`);
      throw unsupported(`delta CRL (base CRL number ${baseNumber}): only complete CRLs are read`);
    }
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
    } else if (critical && !UNDERSTOOD_CRITICAL.has(oid)) {
      throw unsupported(`unsupported critical CRL extension ${oid}`);
    }
  }
  return info;
}

/**
 * The revokedCertificates entries of a DER CRL, in order, decoded one at a time (a million-entry CRL
 * is never held as objects). The CRL's own header is checked first, as parseCrlInfo does.
 */
export function* readCrlEntries(der: Uint8Array): Generator<CrlEntry, void, undefined> {
  parseCrlInfo(der);
  const { revoked } = readCrlLayout(der).fields;
  if (!revoked) return;
  for (const entry of childrenOf(der, revoked)) {
    if (entry.tag !== TAG_SEQUENCE) throw new DerError("bad CRL entry");
    const [serial, date, extensions, ...extra] = childrenOf(der, entry);
    if (serial?.tag !== TAG_INTEGER || serial.end === serial.start || !date || extra.length) throw new DerError("bad CRL entry");
    const out: CrlEntry = { serialHex: serialHexOfContent(der.subarray(serial.start, serial.end)), revokedAt: decodeTime(der, date) };
    if (extensions) {
      if (extensions.tag !== TAG_SEQUENCE) throw new DerError("bad CRL entry extensions");
      for (const { oid, critical, value } of readExtensions(der, extensions)) {
        if (oid === OID_REASON_CODE) {
          const code = expectTlv(value, 0, TAG_ENUMERATED);
          if (code.end !== value.length || code.end - code.start !== 1) throw new DerError("bad CRL reason code");
          out.reason = value[code.start] as RevocationReasonCode;
        } else if (critical && !UNDERSTOOD_CRITICAL_ENTRY.has(oid)) {
          throw unsupported(`unsupported critical CRL entry extension ${oid}`);
        }
      }
    }
    yield out;
  }
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

/**
 * Checks that `der` is a CRL issued and signed by `issuerCertificate` (issuer name bytes and
 * signature). For broker-sync and tests: never install a CRL that fails this. Anything that does
 * not verify — another key, another key type, a malformed CRL or signature — is false.
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
  if (!bytesEqual(crlIssuer, issuer.subjectDer)) return false;

  const tbs = der.slice(layout.tbs.offset, layout.tbs.end);
  let signature: Uint8Array | null = der.slice(layout.signature.start + 1, layout.signature.end);
  const spki = issuerCert.publicKey.rawData;
  try {
    const oidTlv = expectTlv(der, layout.signatureAlgorithm.start, TAG_OID, layout.signatureAlgorithm.end);
    const alg = SIGNATURE_HASHES[decodeOid(der, oidTlv.start, oidTlv.end)];
    if (!alg) return false;
    if (alg.kind === "ECDSA") {
      const namedCurve = (issuerCert.publicKey.algorithm as EcKeyAlgorithm).namedCurve;
      const size = CURVE_BYTES[namedCurve];
      signature = size ? ecdsaDerToRaw(signature, size) : null;
      if (!signature) return false;
      const key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "ECDSA", hash: alg.hash }, key, signature.slice().buffer, tbs);
    }
    const key = await crypto.subtle.importKey("spki", spki, { name: alg.kind, hash: alg.hash }, false, ["verify"]);
    return await crypto.subtle.verify({ name: alg.kind }, key, signature.slice().buffer, tbs);
  } catch {
    return false;
  }
}
