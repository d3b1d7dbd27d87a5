// Issuing end-entity certificates (devices, brokers, OCSP responders) from an issuing CA.
import { isIP } from "node:net";
import type { KeyAlgorithm } from "./algorithms";
import { authorityKeyIdentifier, type IssuerKey } from "./ca";
import {
  certificateDer,
  certificatePem,
  certificateSerialHex,
  fingerprintSha256,
  isCaCertificate,
  toX509Certificate,
} from "./certificate";
import { systemClock, type Clock } from "./clock";
import { PkiError } from "./errors";
import { classifySpki } from "./key-policy";
import { exportSpki } from "./keys";
import { getProfile, OID_OCSP_NOCHECK, resolveValidityDays, type ProfileId, type SanKind } from "./profiles";
import { generateSerial, normalizeSerialHex } from "./serial";
import { assertSignerMatchesCertificate, signCertificate } from "./sign-certificate";
import { assertHttpUrl } from "./urls";
import { validityWindow } from "./validity";
import {
  AuthorityInfoAccessExtension,
  BasicConstraintsExtension,
  CRLDistributionPointsExtension,
  crypto,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsagesExtension,
  Name,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  type JsonGeneralName,
  type X509Certificate,
} from "./x509";

export interface CertificateSubject {
  commonName: string;
  organization?: string;
}

export interface SubjectAltNames {
  dns?: string[];
  ip?: string[];
  uri?: string[];
}

export interface RevocationUrls {
  crl: string;
  ocsp: string;
  caIssuers: string;
}

export interface IssueCertificateParams {
  issuer: IssuerKey;
  profile: ProfileId;
  subject: CertificateSubject;
  sans?: SubjectAltNames;
  /** The subject's public key: a CryptoKey or DER SubjectPublicKeyInfo (e.g. from parseCsr). */
  publicKey: CryptoKey | Uint8Array;
  /** Overrides the profile's default validity. */
  validityDays?: number;
  urls: RevocationUrls;
  clock?: Clock;
  /** Fixed serial (hex) for tests; production always uses a fresh random one. */
  serial?: string;
}

export interface IssuedCertificate {
  certificate: X509Certificate;
  der: Uint8Array;
  pem: string;
  serialHex: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  subject: string;
  profile: ProfileId;
  keyAlgorithm: KeyAlgorithm;
}

const OCSP_NOCHECK_VALUE = new Uint8Array([0x05, 0x00]); // NULL

export async function issueCertificate(params: IssueCertificateParams): Promise<IssuedCertificate> {
  const profile = getProfile(params.profile);
  const clock = params.clock ?? systemClock;
  const issuerCert = toX509Certificate(params.issuer.certificate);
  if (!isCaCertificate(issuerCert)) {
    throw new PkiError("INVALID_INPUT", `"${issuerCert.subject}" is not a CA certificate and cannot issue.`);
  }
  await assertSignerMatchesCertificate(params.issuer.signer, issuerCert);

  const spki = params.publicKey instanceof Uint8Array ? params.publicKey : await exportSpki(params.publicKey);
  const { keyAlgorithm } = classifySpki(spki);
  const subjectName = buildSubject(params.subject);
  const sanNames = buildSans(profile.id, profile.allowedSans, params.sans ?? {});
  if (profile.requiresSan && sanNames.length === 0) {
    throw new PkiError("INVALID_INPUT", `A ${profile.id} certificate needs at least one DNS name or IP address.`);
  }
  const days = resolveValidityDays(profile, params.validityDays);
  const { notBefore, notAfter } = validityWindow(clock, days, issuerCert.notAfter);
  const serial = params.serial ? Buffer.from(normalizeSerialHex(params.serial), "hex") : generateSerial();

  const extensions: Extension[] = [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(profile.keyUsage(keyAlgorithm), true),
    new ExtendedKeyUsageExtension(profile.extendedKeyUsages, false),
    await SubjectKeyIdentifierExtension.create(spki.slice(), false, crypto),
    await authorityKeyIdentifier(issuerCert),
  ];
  if (sanNames.length > 0) extensions.push(new SubjectAlternativeNameExtension(sanNames, false));
  const caIssuers = assertHttpUrl(params.urls.caIssuers, "CA issuers");
  if (profile.revocationPointers) {
    extensions.push(new CRLDistributionPointsExtension([assertHttpUrl(params.urls.crl, "CRL")], false));
    extensions.push(new AuthorityInfoAccessExtension({ ocsp: assertHttpUrl(params.urls.ocsp, "OCSP"), caIssuers }, false));
  } else {
    extensions.push(new AuthorityInfoAccessExtension({ caIssuers }, false));
  }
  if (profile.ocspNoCheck) extensions.push(new Extension(OID_OCSP_NOCHECK, false, OCSP_NOCHECK_VALUE));

  const cert = await signCertificate({
    issuerName: issuerCert.subjectName,
    signer: params.issuer.signer,
    subjectName,
    subjectPublicKey: spki,
    serial,
    notBefore,
    notAfter,
    extensions,
  });
  const der = certificateDer(cert);
  return {
    certificate: cert,
    der,
    pem: certificatePem(cert),
    serialHex: certificateSerialHex(cert),
    fingerprintSha256: fingerprintSha256(der),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    subject: cert.subject,
    profile: profile.id,
    keyAlgorithm,
  };
}

// ub-common-name / ub-organization-name in RFC 5280 Appendix A.
const UB_NAME = 64;

function buildSubject(subject: CertificateSubject): Name {
  const cn = checkNameValue(subject.commonName, "Common name");
  // Built from attribute values, not from a "CN=…" string, so commas, plus signs or "=" in a
  // device name can never turn into extra RDNs.
  const rdns: Record<string, string[]>[] = [];
  if (subject.organization !== undefined && subject.organization !== "") {
    rdns.push({ O: [checkNameValue(subject.organization, "Organization")] });
  }
  rdns.push({ CN: [cn] });
  return new Name(rdns);
}

function checkNameValue(value: string, what: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new PkiError("INVALID_INPUT", `${what} is required.`);
  if ([...value].length > UB_NAME) throw new PkiError("INVALID_INPUT", `${what} is longer than ${UB_NAME} characters.`);
  if (/\p{Cc}/u.test(value)) throw new PkiError("INVALID_INPUT", `${what} contains control characters.`);
  return value;
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

function buildSans(profileId: ProfileId, allowed: readonly SanKind[], sans: SubjectAltNames): JsonGeneralName[] {
  const names: JsonGeneralName[] = [];
  for (const kind of ["dns", "ip", "uri"] as const) {
    const values = sans[kind] ?? [];
    if (values.length > 0 && !allowed.includes(kind)) {
      throw new PkiError(
        "INVALID_INPUT",
        `A ${profileId} certificate cannot carry ${kind.toUpperCase()} subject alternative names` +
          (allowed.length ? ` (allowed: ${allowed.map((k) => k.toUpperCase()).join(", ")}).` : "."),
      );
    }
    for (const value of values) names.push({ type: kind === "uri" ? "url" : kind, value: checkSan(kind, value) });
  }
  return names;
}

function checkSan(kind: SanKind, value: string): string {
  const bad = (why: string) => new PkiError("INVALID_INPUT", `${kind.toUpperCase()} name "${value}" ${why}.`);
  if (kind === "ip") {
    if (isIP(value) === 0) throw bad("is not an IPv4 or IPv6 address");
    return value;
  }
  if (kind === "dns") {
    // A leading "*." wildcard is allowed (brokers behind one domain); anything else must be a hostname.
    const host = value.startsWith("*.") ? value.slice(2) : value;
    if (value.length > 253 || !host.split(".").every((label) => DNS_LABEL.test(label))) throw bad("is not a valid DNS name");
    return value;
  }
  try {
    const url = new URL(value);
    if (!/^[a-z][a-z0-9+.-]*:$/i.test(url.protocol)) throw new Error();
  } catch {
    throw bad("is not an absolute URI (e.g. urn:device:1234 or spiffe://fleet/device/1234)");
  }
  return value;
}
