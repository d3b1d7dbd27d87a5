// Reading and vetting PKCS#10 certificate signing requests from devices and provisioning lines.
//
// Only the public key is taken from a CSR. Subject and SANs come from the device record, so most
// requested extensions are simply ignored — except requests for CA powers, which are refused
// outright: they mean a misconfigured or hostile client and an operator should hear about it.
// Checks run in this order: structure (CSR_MALFORMED), key policy (KEY_POLICY), proof of
// possession (CSR_SIGNATURE_INVALID), requested extensions (CSR_FORBIDDEN_EXTENSION).
import { createPublicKey, verify as verifySignature, type KeyObject } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { BasicConstraints, Extensions, KeyUsage, KeyUsageFlags, id_ce_basicConstraints, id_ce_keyUsage } from "@peculiar/asn1-x509";
import type { KeyAlgorithm } from "./algorithms";
import { PkiError } from "./errors";
import { classifySpki, type KeyClass } from "./key-policy";
import { childrenOf, decodeOid, DerError, readTlv, TAG_BIT_STRING, TAG_INTEGER, TAG_OID, TAG_SEQUENCE, type Tlv } from "./der";
import { pemToDer } from "./pem";
import { Name } from "./x509";

export interface RequestedExtension {
  oid: string;
  name: string;
  critical: boolean;
}

export interface ParsedCsr {
  /** DER SubjectPublicKeyInfo, exactly as the device sent it. */
  publicKey: Uint8Array;
  keyAlgorithm: KeyAlgorithm;
  keyBits: number;
  /** Requested subject, informational only (e.g. "CN=device-42"); decoded on first read, CSR_MALFORMED if it cannot be. */
  readonly subject: string;
  /** The requested subject Name as DER, as sent (cheap to compare byte for byte). */
  subjectDer: Uint8Array;
  requestedExtensions: RequestedExtension[];
}

const MAX_CSR_BYTES = 64 * 1024;
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

const EXTENSION_NAMES: Record<string, string> = {
  "2.5.29.14": "subjectKeyIdentifier",
  "2.5.29.15": "keyUsage",
  "2.5.29.17": "subjectAltName",
  "2.5.29.19": "basicConstraints",
  "2.5.29.30": "nameConstraints",
  "2.5.29.37": "extendedKeyUsage",
  "1.3.6.1.5.5.7.1.1": "authorityInfoAccess",
  "2.5.29.31": "cRLDistributionPoints",
};

// Signature algorithms we verify, with the hash each uses. SHA-1 is refused: a
// SHA-1 proof of possession is forgeable in principle and no current tool defaults to it.
const EC_SIGNATURES: Record<string, string> = {
  "1.2.840.10045.4.3.2": "SHA-256",
  "1.2.840.10045.4.3.3": "SHA-384",
  "1.2.840.10045.4.3.4": "SHA-512",
};
const RSA_SIGNATURES: Record<string, string> = {
  "1.2.840.113549.1.1.11": "SHA-256",
  "1.2.840.113549.1.1.12": "SHA-384",
  "1.2.840.113549.1.1.13": "SHA-512",
};

export async function parseCsr(input: string | Uint8Array): Promise<ParsedCsr> {
  const der = readDer(input);
  const parts = splitCsr(der);

  const key = classifySpki(parts.spki);
  verifyProofOfPossession(parts, key);
  const requestedExtensions = inspectExtensions(parts.extensions);

  // The requested subject is informational (certificates take theirs from the device record), and
  // decoding a Name cost as much as verifying the signature: decoded when first read.
  let subject: string | undefined;
  return {
    publicKey: parts.spki,
    keyAlgorithm: key.keyAlgorithm,
    keyBits: key.bits,
    requestedExtensions,
    subjectDer: parts.subject,
    get subject() {
      try {
        return (subject ??= new Name(parts.subject.slice()).toString());
      } catch (cause) {
        throw malformed("its subject name cannot be decoded", cause);
      }
    },
  };
}

function malformed(why: string, cause?: unknown): PkiError {
  return new PkiError("CSR_MALFORMED", `Not a valid certificate signing request: ${why}.`, { cause });
}

function readDer(input: string | Uint8Array): Uint8Array {
  if (typeof input === "string" ? input.length > MAX_CSR_BYTES * 2 : input.length > MAX_CSR_BYTES) {
    throw malformed(`larger than ${MAX_CSR_BYTES / 1024} KiB`);
  }
  try {
    return pemToDer(input, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"]);
  } catch (cause) {
    throw malformed(cause instanceof PkiError ? cause.message.replace(/\.$/, "") : "unreadable PEM", cause);
  }
}

interface CsrParts {
  tbs: Uint8Array;
  subject: Uint8Array;
  spki: Uint8Array;
  extensions: Uint8Array | null;
  signatureOid: string;
  signature: Uint8Array;
}

const TAG_ATTRIBUTES = 0xa0; // [0] IMPLICIT SET OF Attribute
const TAG_SET = 0x31;

/**
 * Splits CertificationRequest with a strict DER reader (lib/pki/der.ts), so the signed bytes and
 * the SPKI are the original bytes. A schema parser cost more than signing the certificate.
 */
function splitCsr(der: Uint8Array): CsrParts {
  if (der.length === 0) throw malformed("it is empty");
  try {
    const top = readTlv(der, 0, der.length);
    if (top.end !== der.length) throw malformed("there are extra bytes after the request");
    const fields = top.tag === TAG_SEQUENCE ? childrenOf(der, top) : [];
    const [info, sigAlg, sigValue] = fields;
    if (fields.length !== 3 || info.tag !== TAG_SEQUENCE || sigAlg.tag !== TAG_SEQUENCE || sigValue.tag !== TAG_BIT_STRING) {
      throw malformed("it does not have the PKCS#10 structure (request info, algorithm, signature)");
    }
    const [version, subject, spki, attributes, ...rest] = childrenOf(der, info);
    if (version?.tag !== TAG_INTEGER || version.end - version.start !== 1 || der[version.start] !== 0) throw malformed("its version is not v1 (0)");
    if (subject?.tag !== TAG_SEQUENCE || spki?.tag !== TAG_SEQUENCE || rest.length > 0) {
      throw malformed("its request info is not subject + public key + attributes");
    }
    const algOid = childrenOf(der, sigAlg)[0];
    if (algOid?.tag !== TAG_OID) throw malformed("its signature algorithm is unreadable");
    if (sigValue.end === sigValue.start || der[sigValue.start] !== 0) throw malformed("its signature bit string is not whole bytes");

    return {
      tbs: der.slice(info.offset, info.end),
      subject: der.slice(subject.offset, subject.end),
      spki: der.slice(spki.offset, spki.end),
      extensions: attributes === undefined ? null : findExtensionRequest(der, attributes),
      signatureOid: decodeOid(der, algOid.start, algOid.end),
      signature: der.slice(sigValue.start + 1, sigValue.end),
    };
  } catch (cause) {
    if (cause instanceof DerError) throw malformed("the DER encoding is broken or truncated", cause);
    throw cause;
  }
}

function findExtensionRequest(der: Uint8Array, attributes: Tlv): Uint8Array | null {
  if (attributes.tag !== TAG_ATTRIBUTES) throw malformed("its attributes field is not [0]");
  let found: Uint8Array | null = null;
  for (const attr of childrenOf(der, attributes)) {
    const [type, values, ...extra] = attr.tag === TAG_SEQUENCE ? childrenOf(der, attr) : [];
    if (type?.tag !== TAG_OID || values?.tag !== TAG_SET || extra.length) throw malformed("an attribute is unreadable");
    if (decodeOid(der, type.start, type.end) !== OID_EXTENSION_REQUEST) continue;
    const members = childrenOf(der, values);
    if (found || members.length !== 1) throw malformed("it has more than one extension request");
    found = der.slice(members[0].offset, members[0].end);
  }
  return found;
}

/**
 * The device's public key as a KeyObject. EC points go in as JWK coordinates: OpenSSL 3's SPKI
 * decoder takes ~0.2-0.4 ms per key here, about twice the JWK path, and this runs once per
 * issuance. Both paths check that the point is on the curve.
 */
function importPublicKey(spki: Uint8Array, key: KeyClass): KeyObject {
  if (key.ecPoint) {
    const size = (key.ecPoint.length - 1) / 2;
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
    const crv = key.keyAlgorithm === "EC-P384" ? "P-384" : "P-256";
    return createPublicKey({ key: { kty: "EC", crv, x: b64(key.ecPoint.subarray(1, 1 + size)), y: b64(key.ecPoint.subarray(1 + size)) }, format: "jwk" });
  }
  return createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
}

function verifyProofOfPossession(parts: CsrParts, key: KeyClass): void {
  const keyName = key.description;
  const isEc = key.keyAlgorithm.startsWith("EC-");
  const hash = (isEc ? EC_SIGNATURES : RSA_SIGNATURES)[parts.signatureOid];
  if (!hash) {
    const sha1 = parts.signatureOid === "1.2.840.10045.4.1" || parts.signatureOid === "1.2.840.113549.1.1.5";
    throw new PkiError(
      "CSR_SIGNATURE_INVALID",
      sha1
        ? "The request is signed with SHA-1, which is not accepted; sign it with SHA-256 or stronger."
        : `The request's signature algorithm (${parts.signatureOid}) does not fit its ${keyName} key; ` +
            `expected ${isEc ? "ECDSA" : "RSA PKCS#1 v1.5"} with SHA-256/384/512.`,
    );
  }
  // node:crypto verifies synchronously and takes the DER ECDSA signature as it is: no WebCrypto
  // import, no r||s conversion, no thread-pool round trip (this runs once per issuance).
  let publicKey: KeyObject;
  try {
    publicKey = importPublicKey(parts.spki, key);
  } catch (cause) {
    throw malformed(`its ${keyName} public key is invalid (not a point on the curve, or a broken modulus)`, cause);
  }
  let ok = false;
  try {
    ok = verifySignature(hash.replace("-", "").toLowerCase(), parts.tbs, isEc ? { key: publicKey, dsaEncoding: "der" } : publicKey, parts.signature);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new PkiError(
      "CSR_SIGNATURE_INVALID",
      "The request's signature does not verify with its own public key (no proof of possession of the private key); it was altered or corrupted.",
    );
  }
}

function inspectExtensions(raw: Uint8Array | null): RequestedExtension[] {
  if (!raw) return [];
  let extensions: Extensions;
  try {
    extensions = AsnConvert.parse(raw, Extensions);
  } catch (cause) {
    throw malformed("its requested extensions cannot be decoded", cause);
  }
  const summary: RequestedExtension[] = [];
  for (const ext of extensions) {
    const oid = ext.extnID;
    const value = new Uint8Array(ext.extnValue.buffer);
    try {
      if (oid === id_ce_basicConstraints && AsnConvert.parse(value, BasicConstraints).cA) {
        throw new PkiError(
          "CSR_FORBIDDEN_EXTENSION",
          "The request asks for basicConstraints CA:TRUE (a CA certificate); devices only get end-entity certificates.",
        );
      }
      if (oid === id_ce_keyUsage) {
        const flags = AsnConvert.parse(value, KeyUsage).toNumber();
        const forbidden = [
          flags & KeyUsageFlags.keyCertSign ? "keyCertSign" : null,
          flags & KeyUsageFlags.cRLSign ? "cRLSign" : null,
        ].filter(Boolean);
        if (forbidden.length) {
          throw new PkiError(
            "CSR_FORBIDDEN_EXTENSION",
            `The request asks for keyUsage ${forbidden.join(" and ")}, which only CA certificates may have.`,
          );
        }
      }
    } catch (cause) {
      if (cause instanceof PkiError) throw cause;
      throw malformed(`its requested ${EXTENSION_NAMES[oid] ?? oid} extension cannot be decoded`, cause);
    }
    summary.push({ oid, name: EXTENSION_NAMES[oid] ?? oid, critical: ext.critical });
  }
  return summary;
}
