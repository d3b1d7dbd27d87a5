// Reading certificates we are handed (PEM, DER or parsed) and the few facts services store.
import { createHash } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { PkiError } from "./errors";
import { pemToDer, toPem } from "./pem";
import { serialBytesToHex } from "./serial";
import { BasicConstraintsExtension, SubjectKeyIdentifierExtension, X509Certificate } from "./x509";

export type CertificateInput = X509Certificate | Uint8Array | string;

export function toX509Certificate(input: CertificateInput): X509Certificate {
  if (input instanceof X509Certificate) return input;
  try {
    return new X509Certificate(pemToDer(input, "CERTIFICATE").slice());
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError("INVALID_INPUT", "Not a valid X.509 certificate.", { cause });
  }
}

/** The DER of a certificate given either way (no copy). */
export function certificateDer(cert: Uint8Array | X509Certificate): Uint8Array {
  return cert instanceof Uint8Array ? cert : new Uint8Array(cert.rawData);
}

export function certificatePem(cert: X509Certificate): string {
  return toPem(certificateDer(cert), "CERTIFICATE");
}

/** Serial in the canonical CertFleet form (see serial.ts). */
export function certificateSerialHex(cert: X509Certificate): string {
  const asn = AsnConvert.parse(cert.rawData, Certificate);
  return serialBytesToHex(new Uint8Array(asn.tbsCertificate.serialNumber));
}

/** Lowercase hex SHA-256 of the DER (what `openssl x509 -fingerprint -sha256` shows, without colons). */
export function fingerprintSha256(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

export function isCaCertificate(cert: X509Certificate): boolean {
  return cert.getExtension(BasicConstraintsExtension)?.ca === true;
}

/** The issuer's SKI, reused verbatim as the AKI of what it signs so chain builders can match them. */
export function subjectKeyIdentifierHex(cert: X509Certificate): string | null {
  return cert.getExtension(SubjectKeyIdentifierExtension)?.keyId ?? null;
}

/** Signature algorithm OID in the certificate (checked against the signer's after signing). */
export function signatureAlgorithmOid(cert: X509Certificate): string {
  return AsnConvert.parse(cert.rawData, Certificate).signatureAlgorithm.algorithm;
}
