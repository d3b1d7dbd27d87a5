// The single place a certificate gets signed, and checked before anyone stores or hands it out:
// CA certificates are built with @peculiar/x509 through the signer binding (signCertificate);
// end-entity certificates arrive as a TBSCertificate encoded by tbs.ts (signTbsCertificate).
import { createPublicKey, verify as nodeVerify, type KeyObject } from "node:crypto";
import { ALGORITHM_PARAMS } from "./algorithms";
import { PkiError } from "./errors";
import { signatureAlgorithmOid } from "./certificate";
import { classifySpki } from "./key-policy";
import { exportSpki } from "./keys";
import { bindSigner } from "./signer-crypto";
import { CryptoKeySigner, type Signer } from "./signer";
import { encodeCertificate } from "./tbs";
import { crypto, Extension, Name, X509Certificate, X509CertificateGenerator } from "./x509";

export interface SignCertificateParams {
  issuerName: Name;
  signer: Signer;
  subjectName: Name;
  subjectPublicKey: Uint8Array;
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  extensions: Extension[];
}

export async function signCertificate(params: SignCertificateParams): Promise<X509Certificate> {
  const binding = bindSigner(params.signer);
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: Buffer.from(params.serial).toString("hex"),
      issuer: params.issuerName,
      subject: params.subjectName,
      notBefore: params.notBefore,
      notAfter: params.notAfter,
      publicKey: params.subjectPublicKey.slice(),
      signingKey: binding.signingKey,
      signingAlgorithm: binding.signingAlgorithm,
      extensions: params.extensions,
    },
    binding.crypto,
  );
  // A signer (an HSM especially) that disagrees with its declared algorithm or key would yield a
  // certificate nobody can verify; catch that here rather than in a device in the field.
  if (signatureAlgorithmOid(cert) !== params.signer.signatureOid) {
    throw new PkiError("SIGNER_MISMATCH", `Signature algorithm differs from the signer's (${params.signer.signatureOid}).`);
  }
  const ok = await cert.verify({ publicKey: params.signer.publicKey, signatureOnly: true }, crypto);
  if (!ok) {
    throw new PkiError("SIGNER_MISMATCH", "Signer produced a signature that does not verify under its own public key.");
  }
  return cert;
}

/** Refuses to sign with a signer whose key is not the one in the issuer certificate. */
export async function assertSignerMatchesCertificate(signer: Signer, cert: X509Certificate): Promise<void> {
  const signerSpki = await exportSpki(signer.publicKey);
  if (!Buffer.from(signerSpki).equals(Buffer.from(cert.publicKey.rawData))) {
    throw new PkiError(
      "SIGNER_MISMATCH",
      `The signing key does not belong to the CA certificate "${cert.subject}"; check which CA key was loaded.`,
    );
  }
}

/**
 * A signer checked against one issuer certificate (see bindSignerToIssuer). Callers cache it per
 * (signer, issuer) so the checks run once, not per certificate.
 */
export interface IssuerSigner {
  readonly signer: Signer;
  /** The issuer certificate's public key, equal to the signer's (checked). */
  readonly issuerKey: KeyObject;
  /** node:crypto digest name of the signature algorithm ("sha256", "sha384"). */
  readonly hash: string;
  /** Whether every signature is verified; see signTbsCertificate. */
  verifyEach: boolean;
}

/**
 * Refuses a signer that cannot sign for `issuerSpki`: a different key, a declared signature
 * algorithm that is not the one its key algorithm implies, or a key algorithm that is not the
 * issuer key's (an HSM signer configured for the wrong slot or curve).
 */
export async function bindSignerToIssuer(signer: Signer, issuerSpki: Uint8Array, issuerSubject: string): Promise<IssuerSigner> {
  const signerSpki = await exportSpki(signer.publicKey);
  if (!Buffer.from(signerSpki).equals(Buffer.from(issuerSpki))) {
    throw new PkiError(
      "SIGNER_MISMATCH",
      `The signing key does not belong to the CA certificate "${issuerSubject}"; check which CA key was loaded.`,
    );
  }
  const params = ALGORITHM_PARAMS[signer.algorithm];
  if (!params || signer.signatureOid !== params.signatureOid) {
    throw new PkiError("SIGNER_MISMATCH", `Signature algorithm differs from the signer's (${signer.signatureOid}).`);
  }
  const issuerAlgorithm = classifySpki(issuerSpki).keyAlgorithm;
  const sameFamily = signer.algorithm.startsWith("RSA-") ? issuerAlgorithm.startsWith("RSA-") : issuerAlgorithm === signer.algorithm;
  if (!sameFamily) {
    throw new PkiError("SIGNER_MISMATCH", `The signer declares ${signer.algorithm} but the key of "${issuerSubject}" is ${issuerAlgorithm}.`);
  }
  return {
    signer,
    issuerKey: createPublicKey({ key: Buffer.from(issuerSpki), format: "der", type: "spki" }),
    hash: params.hash.replace("-", "").toLowerCase(),
    verifyEach: true,
  };
}

/**
 * Signs an encoded TBSCertificate and returns the Certificate DER.
 *
 * Verify-after-sign policy. Any signer other than the built-in CryptoKeySigner (an HSM, a remote
 * KMS) has every signature verified against the issuer's public key with node's synchronous
 * crypto.verify: a device that signs with the wrong key or returns garbage must never produce a
 * certificate we store. For a CryptoKeySigner only the first signature per (signer, issuer) is
 * verified: that proves its private key is the issuer's (the public-key comparison alone cannot:
 * a CryptoKeySigner can be built from a mismatched pair). After that the signature comes from
 * OpenSSL with a proven key (OpenSSL itself re-checks RSA-CRT results against fault attacks), and
 * a P-256 verify costs about twice the signature — it would roughly halve issuance throughput for
 * no failure mode we can name.
 */
export async function signTbsCertificate(bound: IssuerSigner, tbs: Uint8Array, signatureAlgorithm: Uint8Array): Promise<Uint8Array> {
  const signature = await bound.signer.sign(tbs);
  if (bound.verifyEach) {
    if (!verifies(bound, tbs, signature)) {
      throw new PkiError("SIGNER_MISMATCH", "Signer produced a signature that does not verify under its own public key.");
    }
    // Exactly the built-in class: a subclass may override sign().
    if (Object.getPrototypeOf(bound.signer) === CryptoKeySigner.prototype) bound.verifyEach = false;
  }
  return encodeCertificate(tbs, signatureAlgorithm, signature);
}

function verifies(bound: IssuerSigner, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    // dsaEncoding "der" for EC: exactly what the certificate carries (OpenSSL also refuses non-DER).
    return nodeVerify(bound.hash, data, { key: bound.issuerKey, dsaEncoding: "der" }, signature);
  } catch {
    return false; // malformed signature bytes
  }
}
