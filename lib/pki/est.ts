// The protocol pieces of EST (RFC 7030) that need no database: the certs-only CMS answer, the
// CSR attributes answer, reading the base64 PKCS#10 body, and checking a TLS client certificate
// against the CAs that may vouch for it.
import { X509Certificate as NodeCertificate } from "node:crypto";
import { PkiError } from "./errors";
import { tlv } from "./der";
import { OID_EC_PUBLIC_KEY, OID_RSA_ENCRYPTION } from "./key-policy";
import { X509Certificate } from "./x509";

const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_INTEGER = 0x02;
const TAG_OID = 0x06;
const TAG_CONTEXT_0 = 0xa0;

const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const OID_DATA = "1.2.840.113549.1.7.1";

export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map((a) => BigInt(a));
  const bytes: number[] = [Number(arcs[0] * 40n + arcs[1])];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(TAG_OID, Uint8Array.from(bytes));
}

/**
 * A degenerate SignedData (RFC 5652 5.1, "certs-only"): no content, no signers, only the
 * certificates — what EST answers for cacerts and the enrollments (RFC 7030 4.1.3, 4.2.3).
 */
export function certsOnlyCms(certificates: Uint8Array[]): Uint8Array {
  const signedData = tlv(
    TAG_SEQUENCE,
    tlv(TAG_INTEGER, Uint8Array.of(1)),
    tlv(TAG_SET),
    tlv(TAG_SEQUENCE, encodeOid(OID_DATA)),
    tlv(TAG_CONTEXT_0, ...certificates),
    tlv(TAG_SET),
  );
  return tlv(TAG_SEQUENCE, encodeOid(OID_SIGNED_DATA), tlv(TAG_CONTEXT_0, signedData));
}

/**
 * The base64 body of an EST answer: one line. Line breaks are allowed (RFC 8951), but strongSwan's
 * `pki --est` (5.9) decodes them as data and then cannot parse the CMS.
 */
export function estBase64(der: Uint8Array): string {
  return Buffer.from(der).toString("base64");
}

const CURVES = ["1.2.840.10045.3.1.7", "1.3.132.0.34"]; // P-256, P-384 (lib/pki/key-policy.ts)
const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";

/**
 * CsrAttrs (RFC 7030 4.5.2): which keys CertFleet certifies — EC on P-256 or P-384, or RSA
 * (at least 2048 bits, which CsrAttrs cannot say) — and the signature it prefers.
 */
export function csrAttributes(): Uint8Array {
  return tlv(
    TAG_SEQUENCE,
    encodeOid(OID_ECDSA_SHA256),
    tlv(TAG_SEQUENCE, encodeOid(OID_EC_PUBLIC_KEY), tlv(TAG_SET, ...CURVES.map(encodeOid))),
    encodeOid(OID_RSA_ENCRYPTION),
  );
}

/**
 * The PKCS#10 of an EST request body: base64 DER with or without line breaks (RFC 7030 4.2.1).
 * A PEM block is accepted too (some clients send one); anything else is CSR_MALFORMED.
 */
export function readEstCsrBody(body: Buffer): string | Uint8Array {
  const text = body.toString("latin1");
  if (text.includes("-----BEGIN ")) return text;
  const compact = text.replace(/\s+/g, "");
  if (compact.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new PkiError("CSR_MALFORMED", "The body is not a base64 PKCS#10 certificate signing request.");
  }
  return new Uint8Array(Buffer.from(compact, "base64"));
}

export interface ClientCertificateCheck<T> {
  /** The CA among `issuers` that signed the certificate. */
  issuer: T;
  certificate: NodeCertificate;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Which of `issuers` signed the TLS client certificate `der` (issuer name and signature), or null.
 * Validity is left to the caller: an expired certificate may still re-enroll within a grace.
 */
export function findClientCertificateIssuer<T extends { certificateDer: Uint8Array }>(der: Uint8Array, issuers: T[]): ClientCertificateCheck<T> | null {
  let certificate: NodeCertificate;
  try {
    certificate = new NodeCertificate(der);
  } catch {
    return null;
  }
  for (const issuer of issuers) {
    const ca = new NodeCertificate(issuer.certificateDer);
    if (certificate.checkIssued(ca) && certificate.verify(ca.publicKey)) {
      return { issuer, certificate, notBefore: new Date(certificate.validFrom), notAfter: new Date(certificate.validTo) };
    }
  }
  return null;
}

/** The subject attributes a bootstrap (IDevID) certificate names its device by. */
export function subjectFields(der: Uint8Array): { commonName?: string; serialNumber?: string; subject: string } {
  const cert = new X509Certificate(der.slice());
  return {
    commonName: cert.subjectName.getField("CN")[0],
    serialNumber: cert.subjectName.getField("2.5.4.5")[0],
    subject: cert.subject,
  };
}

/**
 * The serverkeygen answer (RFC 7030 4.4.2): multipart/mixed, first the private key as
 * application/pkcs8, then the certificate as certs-only CMS, each one base64 line (as estBase64).
 * A boundary with a "-" cannot occur inside base64 text, which has no "-".
 */
export function serverKeygenBody(pkcs8: Uint8Array, cms: Uint8Array, boundary: string): string {
  return [
    `--${boundary}`,
    "Content-Type: application/pkcs8",
    "Content-Transfer-Encoding: base64",
    "",
    estBase64(pkcs8),
    `--${boundary}`,
    "Content-Type: application/pkcs7-mime; smime-type=certs-only",
    "Content-Transfer-Encoding: base64",
    "",
    estBase64(cms),
    `--${boundary}--`,
    "",
  ].join("\r\n");
}
