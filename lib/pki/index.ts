// Public API of the PKI core. Services import from "@/lib/pki", not from individual files.
export { KEY_ALGORITHMS, ALGORITHM_PARAMS, isKeyAlgorithm, type KeyAlgorithm, type AlgorithmParams } from "./algorithms";
export { PkiError, isPkiError, type PkiErrorCode } from "./errors";
export { systemClock, fixedClock, type Clock } from "./clock";
export { toPem, pemToDer, splitPemBundle, type PemBlock } from "./pem";
export { sealSecret, openSecret, masterKeyFromBase64, masterKeyId, MASTER_KEY_BYTES, type SealedSecret } from "./keystore";
export {
  generateKeyPair,
  exportPkcs8,
  exportPkcs8Pem,
  exportSpki,
  importPrivateKeyPkcs8,
  importPublicKeySpki,
  localSigner,
  keyAlgorithmOfPublicKey,
} from "./keys";
export { classifySpki, type KeyClass } from "./key-policy";
export { CryptoKeySigner, type Signer } from "./signer";
export { ecdsaRawToDer, ecdsaDerToRaw } from "./ecdsa-signature";
export { bindSigner, type SignerBinding } from "./signer-crypto";
export { generateSerial, normalizeSerialHex, serialBytesToHex, SERIAL_BYTES } from "./serial";
export {
  toX509Certificate,
  certificateDer,
  certificatePem,
  certificateSerialHex,
  fingerprintSha256,
  isCaCertificate,
  type CertificateInput,
} from "./certificate";
export { validityWindow, CLOCK_SKEW_MS, type ValidityWindow } from "./validity";
export {
  createRootCa,
  createIssuingCa,
  ROOT_CA_DEFAULT_DAYS,
  ISSUING_CA_DEFAULT_DAYS,
  type CreatedCa,
  type CreateRootCaParams,
  type CreateIssuingCaParams,
  type IssuerKey,
} from "./ca";
export {
  PROFILES,
  PROFILE_IDS,
  getProfile,
  isProfileId,
  OID_OCSP_NOCHECK,
  type CertificateProfile,
  type ProfileId,
  type SanKind,
} from "./profiles";
export {
  issueCertificate,
  type IssueCertificateParams,
  type IssuedCertificate,
  type CertificateSubject,
  type SubjectAltNames,
  type RevocationUrls,
} from "./issue";
export { parseCsr, type ParsedCsr, type RequestedExtension } from "./csr";
export { buildPkcs12, PKCS12_DEFAULT_ITERATIONS, type BuildPkcs12Params } from "./pkcs12";
export { X509Certificate } from "./x509";
