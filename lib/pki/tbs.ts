// Direct DER encoding of the end-entity certificates issueCertificate signs (the CA hierarchy still
// goes through @peculiar/x509 in ca.ts: it is rare, and the generic path is easier to audit there).
//
// An issued certificate is a template that depends only on (issuer, profile, key family, URLs) plus a
// handful of per-certificate fields. issue.ts builds the template once and caches it; this file
// writes the per-certificate fields and glues the parts together, so issuing costs a few small
// allocations plus the signature instead of an ASN.1 object-model round trip.
//
// Layout written (RFC 5280 4.1), with the extension order @peculiar/x509 produced before, so
// certificates from either path are byte-for-byte comparable (tests/unit/pki/fast-issue.test.ts):
//
//   TBSCertificate ::= SEQUENCE {
//     [0] EXPLICIT INTEGER 2                      -- v3, constant
//     serialNumber INTEGER                        -- per certificate
//     signature AlgorithmIdentifier               -- template
//     issuer Name                                 -- template: the issuer's subject bytes, verbatim
//     validity SEQUENCE { notBefore, notAfter }   -- per certificate
//     subject Name                                -- per certificate: [O,] CN as UTF8String
//     subjectPublicKeyInfo                        -- per certificate: the caller's bytes, verbatim
//     [3] EXPLICIT SEQUENCE OF Extension {
//       basicConstraints, keyUsage, extKeyUsage   -- template
//       subjectKeyIdentifier                      -- per certificate
//       authorityKeyIdentifier                    -- template
//       subjectAltName                            -- per certificate, when there are names
//       cRLDistributionPoints, authorityInfoAccess, ocsp-nocheck   -- template, per profile
//     }
//   }
//
// Element encoding (tag, definite length, content) is der.ts's `tlv`: lengths below 128 use the
// one-byte short form, longer ones the long form 0x80|n followed by n big-endian length octets,
// minimal as DER requires (X.690 8.1.3, 10.1).
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import {
  encodeOid,
  encodeSerialInteger,
  encodeTime,
  invalidInput,
  readTlv,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
  tlv,
  type Tlv,
} from "./der";
import { PkiError } from "./errors";

const TAG_SET = 0x31;
const TAG_UTF8_STRING = 0x0c;
/** GeneralName alternatives (RFC 5280 4.2.1.6), IMPLICIT context tags over IA5String / OCTET STRING. */
const TAG_GN_DNS = 0x82;
const TAG_GN_URI = 0x86;
const TAG_GN_IP = 0x87;
const TAG_EXTENSIONS = 0xa3; // [3] EXPLICIT

const EMPTY = new Uint8Array(0);
const VERSION_V3 = Uint8Array.of(0xa0, 0x03, TAG_INTEGER, 0x01, 0x02); // [0] EXPLICIT INTEGER 2
const OID_SKI = encodeOid("2.5.29.14");
const OID_SAN = encodeOid("2.5.29.17");
const OID_COMMON_NAME = encodeOid("2.5.4.3");
const OID_ORGANIZATION = encodeOid("2.5.4.10");

/** The constant parts of a certificate, computed once per (issuer, profile, key family, URLs, signer algorithm). */
export interface TbsTemplate {
  /** AlgorithmIdentifier, written both inside the TBS and after it. */
  signatureAlgorithm: Uint8Array;
  /** The issuer certificate's subject Name, byte for byte (chain building compares these bytes). */
  issuerName: Uint8Array;
  /** Complete Extension elements, concatenated, in the order they appear around the per-certificate ones. */
  extensionsBeforeSki: Uint8Array;
  extensionsAfterSki: Uint8Array;
  extensionsAfterSan: Uint8Array;
}

export interface TbsFields {
  /** Content octets of the serial INTEGER, canonical (serial.ts): positive, minimal, 1–20 octets. */
  serial: Uint8Array;
  /** Whole seconds; UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
  notBefore: Date;
  notAfter: Date;
  /** Name from encodeSubjectName. */
  subject: Uint8Array;
  /** The subject's SubjectPublicKeyInfo, checked by subjectPublicKeyBits, copied verbatim. */
  subjectPublicKeyInfo: Uint8Array;
  /** keyIdentifier from subjectKeyIdentifier(). */
  subjectKeyId: Uint8Array;
  /** GeneralNames from encodeGeneralNames, or null for no subjectAltName extension. */
  subjectAltNames: Uint8Array | null;
}

export function encodeTbsCertificate(template: TbsTemplate, fields: TbsFields): Uint8Array {
  const skiExtension = tlv(TAG_SEQUENCE, OID_SKI, tlv(TAG_OCTET_STRING, tlv(TAG_OCTET_STRING, fields.subjectKeyId)));
  // Non-critical: the BOOLEAN is omitted (DEFAULT FALSE must not be encoded in DER). A subject
  // Name is present, so RFC 5280 4.2.1.6 does not ask for critical here.
  const sanExtension = fields.subjectAltNames ? tlv(TAG_SEQUENCE, OID_SAN, tlv(TAG_OCTET_STRING, fields.subjectAltNames)) : EMPTY;
  const extensions = tlv(
    TAG_EXTENSIONS,
    tlv(TAG_SEQUENCE, template.extensionsBeforeSki, skiExtension, template.extensionsAfterSki, sanExtension, template.extensionsAfterSan),
  );
  return tlv(
    TAG_SEQUENCE,
    VERSION_V3,
    encodeSerialInteger(fields.serial),
    template.signatureAlgorithm,
    template.issuerName,
    tlv(TAG_SEQUENCE, encodeTime(fields.notBefore), encodeTime(fields.notAfter)),
    fields.subject,
    fields.subjectPublicKeyInfo,
    extensions,
  );
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }. */
export function encodeCertificate(tbs: Uint8Array, signatureAlgorithm: Uint8Array, signature: Uint8Array): Uint8Array {
  return tlv(TAG_SEQUENCE, tbs, signatureAlgorithm, tlv(TAG_BIT_STRING, Uint8Array.of(0), signature)); // 0 unused bits
}

/**
 * Name ::= SEQUENCE OF RDN: one single-valued RDN per attribute, O first then CN (the order the
 * @peculiar path used). Values are UTF8String (RFC 5280 4.1.2.6); DER carries them as bytes, so no
 * DN-string escaping applies — a comma stays a comma inside one attribute value.
 */
export function encodeSubjectName(subject: { commonName: string; organization?: string }): Uint8Array {
  const rdn = (type: Uint8Array, value: string) =>
    tlv(TAG_SET, tlv(TAG_SEQUENCE, type, tlv(TAG_UTF8_STRING, Buffer.from(value, "utf8"))));
  return subject.organization === undefined
    ? tlv(TAG_SEQUENCE, rdn(OID_COMMON_NAME, subject.commonName))
    : tlv(TAG_SEQUENCE, rdn(OID_ORGANIZATION, subject.organization), rdn(OID_COMMON_NAME, subject.commonName));
}

/**
 * The subject as @peculiar/x509's Name.toString() prints it ("O=Acme\, Inc., CN=dev-1"): services
 * store and search this string, so certificates from both paths must give the same one. Control
 * characters (which @peculiar writes as \XX) are refused before this point.
 */
export function formatSubjectName(subject: { commonName: string; organization?: string }): string {
  const escape = (v: string) =>
    v
      .replace(/([,+"\\<>;])/g, "\\$1")
      .replace(/^([ #])/, "\\$1")
      .replace(/([ ]$)/, "\\$1");
  const cn = `CN=${escape(subject.commonName)}`;
  return subject.organization === undefined ? cn : `O=${escape(subject.organization)}, ${cn}`;
}

/**
 * The subjectPublicKey BIT STRING contents (without the unused-bits octet) after checking that
 * `spki` is exactly one well-formed SEQUENCE { AlgorithmIdentifier, BIT STRING }: it is copied into
 * the certificate verbatim, so stray or malformed bytes must not get that far.
 */
export function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  let bits: Tlv;
  try {
    const outer = readTlv(spki, 0);
    const algorithm = readTlv(spki, outer.start, outer.end);
    bits = readTlv(spki, algorithm.end, outer.end);
    if (outer.tag !== TAG_SEQUENCE || outer.end !== spki.length || algorithm.tag !== TAG_SEQUENCE || bits.tag !== TAG_BIT_STRING || bits.end !== outer.end) {
      throw new Error();
    }
  } catch (cause) {
    throw new PkiError("INVALID_INPUT", "Public key is not a valid SubjectPublicKeyInfo structure.", { cause });
  }
  if (bits.end - bits.start < 2 || spki[bits.start] !== 0) {
    throw new PkiError("INVALID_INPUT", "Public key BIT STRING must hold whole octets.");
  }
  return spki.subarray(bits.start + 1, bits.end);
}

/**
 * RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents (excluding tag, length
 * and unused-bits octet) — what @peculiar/x509's SubjectKeyIdentifierExtension.create computed.
 */
export function subjectKeyIdentifier(subjectPublicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha1").update(subjectPublicKey).digest());
}

export type GeneralNameInput = { kind: "dns" | "ip" | "uri"; value: string };

/**
 * GeneralNames ::= SEQUENCE OF GeneralName, in the given order. DNS names and URIs are IA5String
 * (checked to be printable ASCII by the caller); IP addresses are 4 or 16 network-order octets.
 */
export function encodeGeneralNames(names: readonly GeneralNameInput[]): Uint8Array {
  const encoded = names.map(({ kind, value }) => {
    if (kind === "ip") return tlv(TAG_GN_IP, ipAddressBytes(value));
    if (!/^[\x21-\x7e]+$/.test(value)) throw invalidInput(`${kind.toUpperCase()} name "${value}" must be printable ASCII.`);
    return tlv(kind === "dns" ? TAG_GN_DNS : TAG_GN_URI, Buffer.from(value, "latin1"));
  });
  return tlv(TAG_SEQUENCE, ...encoded);
}

/** IPv4 (4 octets) or IPv6 (16 octets, "::" expanded, trailing dotted IPv4 allowed); no zone ids. */
export function ipAddressBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split(".").map(Number));
  if (!isIPv6(ip) || ip.includes("%")) throw invalidInput(`"${ip}" is not an IPv4 or IPv6 address.`);
  const words = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const group of part.split(":")) {
      if (group.includes(".")) {
        const [a, b, c, d] = ipAddressBytes(group);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(group, 16));
      }
    }
    return out;
  };
  const gap = ip.indexOf("::");
  const head = words(gap < 0 ? ip : ip.slice(0, gap));
  const tail = gap < 0 ? [] : words(ip.slice(gap + 2));
  const zeros = 8 - head.length - tail.length;
  if (gap < 0 ? zeros !== 0 : zeros < 1) throw invalidInput(`"${ip}" is not an IPv6 address.`);
  const all = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}
