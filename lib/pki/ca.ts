// Creating the CA hierarchy: a self-signed root (pathLen 1) and issuing CAs under it (pathLen 0).
// Devices, brokers and OCSP responders are certified by issuing CAs only; the root signs CAs.
import { ALGORITHM_PARAMS, isKeyAlgorithm, type KeyAlgorithm } from "./algorithms";
import {
  certificateDer,
  certificatePem,
  certificateSerialHex,
  fingerprintSha256,
  isCaCertificate,
  subjectKeyIdentifierHex,
  toX509Certificate,
  type CertificateInput,
} from "./certificate";
import { systemClock, type Clock } from "./clock";
import { PkiError } from "./errors";
import { exportPkcs8, exportSpki, generateKeyPair } from "./keys";
import { generateSerial } from "./serial";
import { assertSignerMatchesCertificate, signCertificate } from "./sign-certificate";
import { CryptoKeySigner, type Signer } from "./signer";
import { assertValidityDays, validityWindow } from "./validity";
import {
  AuthorityInfoAccessExtension,
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  CRLDistributionPointsExtension,
  crypto,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectKeyIdentifierExtension,
  X509Certificate,
} from "./x509";
import { assertHttpUrl } from "./urls";

export const ROOT_CA_DEFAULT_DAYS = 7305; // 20 years
export const ISSUING_CA_DEFAULT_DAYS = 3653; // 10 years
const CA_MAX_DAYS = 36525; // 100 years: a typo guard, not a recommendation

export interface IssuerKey {
  certificate: CertificateInput;
  signer: Signer;
}

export interface CreatedCa {
  certificate: X509Certificate;
  der: Uint8Array;
  pem: string;
  /** PKCS#8 of a freshly generated key, for the caller to seal; absent when an external signer was given. */
  pkcs8?: Uint8Array;
  signer: Signer;
  keyAlgorithm: KeyAlgorithm;
  serialHex: string;
  fingerprintSha256: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

interface CommonCaParams {
  /** Distinguished name, e.g. "CN=CertFleet Root CA, O=Acme". */
  subject: string;
  /** Key algorithm of a key generated here (default EC-P256). Ignored when `signer` is given. */
  algorithm?: KeyAlgorithm;
  /** An existing key (e.g. in an HSM) to certify instead of generating one. */
  signer?: Signer;
  validityDays?: number;
  clock?: Clock;
}

export type CreateRootCaParams = CommonCaParams;

export interface CreateIssuingCaParams extends CommonCaParams {
  parent: IssuerKey;
  /** Where relying parties find the parent's CRL and certificate (optional for a private PKI). */
  urls?: { crl?: string; caIssuers?: string };
}

export async function createRootCa(params: CreateRootCaParams): Promise<CreatedCa> {
  const clock = params.clock ?? systemClock;
  const days = assertValidityDays(params.validityDays ?? ROOT_CA_DEFAULT_DAYS, CA_MAX_DAYS, "a root CA");
  const subjectName = parseDn(params.subject);
  const { signer, pkcs8 } = await caKey(params);
  const spki = await exportSpki(signer.publicKey);
  const { notBefore, notAfter } = validityWindow(clock, days);

  const cert = await signCertificate({
    issuerName: subjectName,
    signer,
    subjectName,
    subjectPublicKey: spki,
    serial: generateSerial(),
    notBefore,
    notAfter,
    extensions: [
      // pathLen 1: root -> issuing CA -> end entity, and no deeper.
      new BasicConstraintsExtension(true, 1, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      await SubjectKeyIdentifierExtension.create(spki.slice(), false, crypto),
    ],
  });
  return describe(cert, signer, pkcs8);
}

export async function createIssuingCa(params: CreateIssuingCaParams): Promise<CreatedCa> {
  const clock = params.clock ?? systemClock;
  const days = assertValidityDays(params.validityDays ?? ISSUING_CA_DEFAULT_DAYS, CA_MAX_DAYS, "an issuing CA");
  const parentCert = toX509Certificate(params.parent.certificate);
  if (!isCaCertificate(parentCert)) {
    throw new PkiError("INVALID_INPUT", `"${parentCert.subject}" is not a CA certificate and cannot sign a CA.`);
  }
  await assertSignerMatchesCertificate(params.parent.signer, parentCert);
  const subjectName = parseDn(params.subject);
  const { signer, pkcs8 } = await caKey(params);
  const spki = await exportSpki(signer.publicKey);
  const { notBefore, notAfter } = validityWindow(clock, days, parentCert.notAfter);

  const extensions: Extension[] = [
    new BasicConstraintsExtension(true, 0, true),
    new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    await SubjectKeyIdentifierExtension.create(spki.slice(), false, crypto),
    await authorityKeyIdentifier(parentCert),
  ];
  if (params.urls?.crl) extensions.push(new CRLDistributionPointsExtension([assertHttpUrl(params.urls.crl, "CRL")], false));
  if (params.urls?.caIssuers) {
    extensions.push(new AuthorityInfoAccessExtension({ caIssuers: assertHttpUrl(params.urls.caIssuers, "CA issuers") }, false));
  }

  const cert = await signCertificate({
    issuerName: parentCert.subjectName,
    signer: params.parent.signer,
    subjectName,
    subjectPublicKey: spki,
    serial: generateSerial(),
    notBefore,
    notAfter,
    extensions,
  });
  return describe(cert, signer, pkcs8);
}

/** AKI = the issuer's own SKI when it has one (so chain builders match them byte for byte). */
export async function authorityKeyIdentifier(issuer: X509Certificate): Promise<AuthorityKeyIdentifierExtension> {
  const ski = subjectKeyIdentifierHex(issuer);
  return ski ? new AuthorityKeyIdentifierExtension(ski, false) : AuthorityKeyIdentifierExtension.create(issuer.publicKey, false, crypto);
}

export function parseDn(dn: string): Name {
  if (typeof dn !== "string" || dn.trim() === "") {
    throw new PkiError("INVALID_INPUT", "A CA subject (distinguished name such as \"CN=Example CA, O=Acme\") is required.");
  }
  let name: Name;
  try {
    name = new Name(dn);
  } catch (cause) {
    throw new PkiError("INVALID_INPUT", `"${dn}" is not a distinguished name (expected e.g. "CN=Example CA, O=Acme").`, { cause });
  }
  if (name.getField("CN").length === 0) {
    throw new PkiError("INVALID_INPUT", `CA subject "${dn}" needs a CN.`);
  }
  return name;
}

async function caKey(params: CommonCaParams): Promise<{ signer: Signer; pkcs8?: Uint8Array }> {
  if (params.signer) return { signer: params.signer };
  const algorithm = params.algorithm ?? "EC-P256";
  if (!isKeyAlgorithm(algorithm)) {
    throw new PkiError("INVALID_INPUT", `Unknown key algorithm "${String(algorithm)}".`);
  }
  const pair = await generateKeyPair(algorithm);
  const pkcs8 = await exportPkcs8(pair.privateKey);
  // Keep a non-extractable copy in the signer so the PKCS#8 leaves only through `pkcs8`.
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    pkcs8.slice().buffer,
    ALGORITHM_PARAMS[algorithm].keyImport,
    false,
    ["sign"],
  );
  return { signer: new CryptoKeySigner(algorithm, privateKey, pair.publicKey), pkcs8 };
}

function describe(cert: X509Certificate, signer: Signer, pkcs8: Uint8Array | undefined): CreatedCa {
  const der = certificateDer(cert);
  return {
    certificate: cert,
    der,
    pem: certificatePem(cert),
    pkcs8,
    signer,
    keyAlgorithm: signer.algorithm,
    serialHex: certificateSerialHex(cert),
    fingerprintSha256: fingerprintSha256(der),
    subject: cert.subject,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}
