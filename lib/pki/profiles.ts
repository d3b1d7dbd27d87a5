// Certificate profiles: what each kind of end-entity certificate may do and how long it lives.
// Subject names and SANs come from the device / broker record, never from the CSR.
import type { KeyAlgorithm } from "./algorithms";
import { PkiError } from "./errors";
import { ExtendedKeyUsage, KeyUsageFlags } from "./x509";

export const PROFILE_IDS = ["device-client", "broker-server", "ocsp-responder"] as const;
export type ProfileId = (typeof PROFILE_IDS)[number];
export type SanKind = "dns" | "ip" | "uri";

export interface CertificateProfile {
  id: ProfileId;
  description: string;
  defaultValidityDays: number;
  /** Upper bound for a caller's override; the issuer's notAfter caps it further. */
  maxValidityDays: number;
  extendedKeyUsages: string[];
  keyUsage(keyAlgorithm: KeyAlgorithm): KeyUsageFlags;
  allowedSans: readonly SanKind[];
  /** TLS clients match the server name against SANs only (RFC 6125), so a server needs one. */
  requiresSan: boolean;
  /** CRL Distribution Point and AIA OCSP. */
  revocationPointers: boolean;
  /** id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): clients do not ask OCSP about the responder itself. */
  ocspNoCheck: boolean;
}

export const OID_OCSP_NOCHECK = "1.3.6.1.5.5.7.48.1.5";

// TLS 1.2 RSA key exchange encrypts to the certificate key (keyEncipherment); some embedded TLS
// stacks still offer static-ECDH suites, which need keyAgreement on EC keys. Both are harmless
// for TLS 1.3, which only signs.
function tlsKeyUsage(keyAlgorithm: KeyAlgorithm): KeyUsageFlags {
  return keyAlgorithm.startsWith("RSA-")
    ? KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment
    : KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement;
}

export const PROFILES: Record<ProfileId, CertificateProfile> = {
  "device-client": {
    id: "device-client",
    description: "Device identity for mutual TLS to the MQTT broker",
    defaultValidityDays: 365,
    maxValidityDays: 3650,
    extendedKeyUsages: [ExtendedKeyUsage.clientAuth],
    keyUsage: tlsKeyUsage,
    allowedSans: ["uri", "dns"],
    requiresSan: false,
    revocationPointers: true,
    ocspNoCheck: false,
  },
  "broker-server": {
    id: "broker-server",
    description: "MQTT broker TLS server certificate",
    // 397 days: the longest validity mainstream TLS clients accept for server certificates.
    defaultValidityDays: 397,
    maxValidityDays: 825,
    extendedKeyUsages: [ExtendedKeyUsage.serverAuth],
    keyUsage: tlsKeyUsage,
    allowedSans: ["dns", "ip"],
    requiresSan: true,
    revocationPointers: true,
    ocspNoCheck: false,
  },
  "ocsp-responder": {
    id: "ocsp-responder",
    description: "Delegated OCSP response signer for an issuing CA",
    // Short-lived because nocheck means a compromised responder cannot be revoked by OCSP.
    defaultValidityDays: 30,
    maxValidityDays: 90,
    extendedKeyUsages: [ExtendedKeyUsage.ocspSigning],
    keyUsage: () => KeyUsageFlags.digitalSignature,
    allowedSans: [],
    requiresSan: false,
    revocationPointers: false,
    ocspNoCheck: true,
  },
};

export function isProfileId(value: unknown): value is ProfileId {
  return typeof value === "string" && (PROFILE_IDS as readonly string[]).includes(value);
}

export function getProfile(id: ProfileId | string): CertificateProfile {
  if (!isProfileId(id)) {
    throw new PkiError("INVALID_INPUT", `Unknown certificate profile "${id}"; known: ${PROFILE_IDS.join(", ")}.`);
  }
  return PROFILES[id];
}

/** Validity in days for this profile: the caller's override if given and allowed, else the default. */
export function resolveValidityDays(profile: CertificateProfile, override?: number): number {
  if (override === undefined) return profile.defaultValidityDays;
  if (!Number.isInteger(override) || override < 1 || override > profile.maxValidityDays) {
    throw new PkiError(
      "INVALID_INPUT",
      `Validity for ${profile.id} must be a whole number of days from 1 to ${profile.maxValidityDays}; got ${override}.`,
    );
  }
  return override;
}
