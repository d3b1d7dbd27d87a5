// Issuing end-entity certificates (devices, brokers, OCSP responders) from an issuing CA.
//
// Hot path (thousands per second): the certificate is encoded directly (tbs.ts) from a template
// cached per issuer certificate, and everything that depends only on the issuer or the signer is
// checked once and cached too. Only the subject, key, serial, validity and SANs are per certificate.
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type { KeyAlgorithm } from "./algorithms";
import { authorityKeyIdentifier, type IssuerKey } from "./ca";
import { fingerprintSha256, isCaCertificate, toX509Certificate, type CertificateInput } from "./certificate";
import { systemClock, type Clock } from "./clock";
import { parseCertificateParts } from "./der";
import { PkiError } from "./errors";
import { classifySpki } from "./key-policy";
import { exportSpki } from "./keys";
import { pemToDer, toPem } from "./pem";
import {
  getProfile,
  OID_OCSP_NOCHECK,
  resolveValidityDays,
  type CertificateProfile,
  type ProfileId,
  type SanKind,
} from "./profiles";
import { UB_COMMON_NAME } from "./limits";
import { generateSerial, normalizeSerialHex, serialBytesToHex } from "./serial";
import { bindSignerToIssuer, signTbsCertificate, type IssuerSigner } from "./sign-certificate";
import type { Signer } from "./signer";
import {
  encodeGeneralNames,
  encodeSubjectName,
  encodeTbsCertificate,
  formatSubjectName,
  subjectKeyIdentifier,
  subjectPublicKeyBits,
  type GeneralNameInput,
  type TbsTemplate,
} from "./tbs";
import { assertHttpUrl } from "./urls";
import { signatureAlgorithmIdentifier } from "./algorithm-identifier";
import { validityWindow } from "./validity";
import {
  AuthorityInfoAccessExtension,
  BasicConstraintsExtension,
  CRLDistributionPointsExtension,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsagesExtension,
  X509Certificate,
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
  /** Parsed on first access (a getter): services mostly need only the fields below. */
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
  const issuer = await issuerContext(params.issuer.certificate);
  if (!issuer.isCa) {
    throw new PkiError("INVALID_INPUT", `"${issuer.subject}" is not a CA certificate and cannot issue.`);
  }
  const signing = await issuer.bind(params.issuer.signer);

  const spki = params.publicKey instanceof Uint8Array ? params.publicKey : await exportSpki(params.publicKey);
  const keyAlgorithm = classifySpki(spki).keyAlgorithm;
  const subjectPublicKey = subjectPublicKeyBits(spki);
  const subject = checkSubject(params.subject);
  const sanNames = buildSans(profile.id, profile.allowedSans, params.sans ?? {});
  if (profile.requiresSan && sanNames.length === 0) {
    throw new PkiError("INVALID_INPUT", `A ${profile.id} certificate needs at least one DNS name or IP address.`);
  }
  const days = resolveValidityDays(profile, params.validityDays);
  const { notBefore, notAfter } = validityWindow(clock, days, issuer.notAfter);
  const serial = params.serial ? Buffer.from(normalizeSerialHex(params.serial), "hex") : generateSerial();
  const template = issuer.template(profile, keyAlgorithm, params.urls, signing.signer);

  const tbs = encodeTbsCertificate(template, {
    serial,
    notBefore,
    notAfter,
    subject: encodeSubjectName(subject),
    subjectPublicKeyInfo: spki,
    subjectKeyId: subjectKeyIdentifier(subjectPublicKey),
    subjectAltNames: sanNames.length > 0 ? encodeGeneralNames(sanNames) : null,
  });
  const der = await signTbsCertificate(signing, tbs, template.signatureAlgorithm);
  let parsed: X509Certificate | undefined;
  return {
    get certificate() {
      return (parsed ??= new X509Certificate(der.slice()));
    },
    der,
    pem: toPem(der, "CERTIFICATE"),
    serialHex: serialBytesToHex(serial),
    fingerprintSha256: fingerprintSha256(der),
    notBefore,
    notAfter,
    subject: formatSubjectName(subject),
    profile: profile.id,
    keyAlgorithm,
  };
}

// --- Per-issuer cache --------------------------------------------------------------------------

/** What issuing needs from an issuer certificate, derived once per certificate (keyed by its DER). */
interface IssuerContext {
  subject: string;
  isCa: boolean;
  notAfter: Date;
  /** Cached signer checks; see bindSignerToIssuer. */
  bind(signer: Signer): Promise<IssuerSigner>;
  /** The constant part of every certificate with this profile, key family, URLs and signer algorithm. */
  template(profile: CertificateProfile, keyAlgorithm: KeyAlgorithm, urls: RevocationUrls, signer: Signer): TbsTemplate;
}

// A process has a handful of issuing CAs; the bound only guards against unbounded growth when
// callers pass many different certificates (each entry is a few KB).
const ISSUER_CACHE_LIMIT = 32;
const TEMPLATE_CACHE_LIMIT = 64;
const issuers = new Map<string, Promise<IssuerContext>>();

function issuerContext(input: CertificateInput): Promise<IssuerContext> {
  // Services pass the stored DER each time, so the cache is keyed by content, not object identity.
  const der = input instanceof X509Certificate ? new Uint8Array(input.rawData) : input instanceof Uint8Array ? input : pemToDer(input, "CERTIFICATE");
  const key = createHash("sha256").update(der).digest("base64");
  let context = issuers.get(key);
  if (!context) {
    if (issuers.size >= ISSUER_CACHE_LIMIT) issuers.delete(issuers.keys().next().value!);
    context = createIssuerContext(input instanceof X509Certificate ? input : der.slice());
    issuers.set(key, context);
    context.catch(() => issuers.delete(key));
  }
  return context;
}

async function createIssuerContext(input: X509Certificate | Uint8Array): Promise<IssuerContext> {
  const cert = toX509Certificate(input);
  const parts = parseCertificateParts(new Uint8Array(cert.rawData));
  const subject = cert.subject;
  const aki = new Uint8Array((await authorityKeyIdentifier(cert)).rawData);
  const signers = new WeakMap<Signer, Promise<IssuerSigner>>();
  const templates = new Map<string, TbsTemplate>();
  return {
    subject,
    isCa: isCaCertificate(cert),
    notAfter: cert.notAfter,
    bind(signer) {
      let bound = signers.get(signer);
      if (!bound) {
        bound = bindSignerToIssuer(signer, parts.subjectPublicKeyInfoDer, subject);
        signers.set(signer, bound);
        bound.catch(() => signers.delete(signer)); // a failed check is repeated, never remembered
      }
      return bound;
    },
    template(profile, keyAlgorithm, urls, signer) {
      const keyUsage = profile.keyUsage(keyAlgorithm);
      // JSON, not a joined string: no two different URL triples can produce the same key.
      const key = JSON.stringify([signer.signatureOid, profile.id, keyUsage, urls.crl, urls.ocsp, urls.caIssuers]);
      let template = templates.get(key);
      if (!template) {
        template = buildTemplate(profile, keyUsage, urls, signer.signatureOid, parts.subjectDer, aki);
        if (templates.size >= TEMPLATE_CACHE_LIMIT) templates.clear();
        templates.set(key, template);
      }
      return template;
    },
  };
}

/**
 * The constant extensions are built with @peculiar/x509 as before: once per template, so their
 * cost does not matter, and they stay byte-identical to what earlier certificates carry.
 */
function buildTemplate(
  profile: CertificateProfile,
  keyUsage: number,
  urls: RevocationUrls,
  signatureOid: string,
  issuerName: Uint8Array,
  authorityKeyId: Uint8Array,
): TbsTemplate {
  const caIssuers = assertHttpUrl(urls.caIssuers, "CA issuers");
  const after: Extension[] = [];
  if (profile.revocationPointers) {
    after.push(new CRLDistributionPointsExtension([assertHttpUrl(urls.crl, "CRL")], false));
    after.push(new AuthorityInfoAccessExtension({ ocsp: assertHttpUrl(urls.ocsp, "OCSP"), caIssuers }, false));
  } else {
    after.push(new AuthorityInfoAccessExtension({ caIssuers }, false));
  }
  if (profile.ocspNoCheck) after.push(new Extension(OID_OCSP_NOCHECK, false, OCSP_NOCHECK_VALUE));
  const raw = (extensions: Extension[]) => Buffer.concat(extensions.map((e) => new Uint8Array(e.rawData)));
  return {
    signatureAlgorithm: signatureAlgorithmIdentifier(signatureOid),
    issuerName,
    extensionsBeforeSki: raw([
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(keyUsage, true),
      new ExtendedKeyUsageExtension(profile.extendedKeyUsages, false),
    ]),
    extensionsAfterSki: authorityKeyId,
    extensionsAfterSan: raw(after),
  };
}

// --- Per-certificate input checks --------------------------------------------------------------

function checkSubject(subject: CertificateSubject): CertificateSubject {
  // Values go into the certificate as UTF8String attribute values (tbs.ts), never through a
  // "CN=…" string, so commas, plus signs or "=" in a device name can never turn into extra RDNs.
  const commonName = checkNameValue(subject.commonName, "Common name");
  if (subject.organization === undefined || subject.organization === "") return { commonName };
  return { commonName, organization: checkNameValue(subject.organization, "Organization") };
}

function checkNameValue(value: string, what: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new PkiError("INVALID_INPUT", `${what} is required.`);
  if ([...value].length > UB_COMMON_NAME) throw new PkiError("INVALID_INPUT", `${what} is longer than ${UB_COMMON_NAME} characters.`);
  if (/\p{Cc}/u.test(value)) throw new PkiError("INVALID_INPUT", `${what} contains control characters.`);
  // A lone UTF-16 surrogate has no UTF-8 encoding (it would silently become U+FFFD).
  if (/\p{Cs}/u.test(value)) throw new PkiError("INVALID_INPUT", `${what} is not valid Unicode text.`);
  return value;
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

function buildSans(profileId: ProfileId, allowed: readonly SanKind[], sans: SubjectAltNames): GeneralNameInput[] {
  const names: GeneralNameInput[] = [];
  for (const kind of ["dns", "ip", "uri"] as const) {
    const values = sans[kind] ?? [];
    if (values.length > 0 && !allowed.includes(kind)) {
      throw new PkiError(
        "INVALID_INPUT",
        `A ${profileId} certificate cannot carry ${kind.toUpperCase()} subject alternative names` +
          (allowed.length ? ` (allowed: ${allowed.map((k) => k.toUpperCase()).join(", ")}).` : "."),
      );
    }
    for (const value of values) names.push({ kind, value: checkSan(kind, value) });
  }
  return names;
}

function checkSan(kind: SanKind, value: string): string {
  const bad = (why: string) => new PkiError("INVALID_INPUT", `${kind.toUpperCase()} name "${value}" ${why}.`);
  if (kind === "ip") {
    // Node accepts "fe80::1%eth0"; a zone id means nothing to another host and has no encoding.
    if (isIP(value) === 0 || value.includes("%")) throw bad("is not an IPv4 or IPv6 address");
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
    // An IA5String carries ASCII only, and URL parsing silently drops tabs and newlines.
    if (!/^[\x21-\x7e]+$/.test(value)) throw new Error();
  } catch {
    throw bad("is not an absolute URI (e.g. urn:device:1234 or spiffe://fleet/device/1234)");
  }
  return value;
}
