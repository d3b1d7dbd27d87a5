// The single place a certificate gets signed: builds it with @peculiar/x509 through the
// signer binding, then checks the result before anyone stores or hands it out.
import { PkiError } from "./errors";
import { signatureAlgorithmOid } from "./certificate";
import { exportSpki } from "./keys";
import { bindSigner } from "./signer-crypto";
import type { Signer } from "./signer";
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
