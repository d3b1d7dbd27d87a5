// Key algorithms CertFleet accepts for CAs, devices and generated keys, with their WebCrypto
// parameters and the X.509 signature algorithm each signs with.
export const KEY_ALGORITHMS = ["EC-P256", "EC-P384", "RSA-2048", "RSA-3072", "RSA-4096"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export interface AlgorithmParams {
  /** Parameters for crypto.subtle.generateKey / importKey. */
  keyGen: EcKeyGenParams | RsaHashedKeyGenParams;
  keyImport: EcKeyImportParams | RsaHashedImportParams;
  /** Parameters for crypto.subtle.sign (and @peculiar/x509's signingAlgorithm). */
  signing: EcdsaParams | { name: "RSASSA-PKCS1-v1_5" };
  /** AlgorithmIdentifier OID of the signature this key produces. */
  signatureOid: string;
  hash: "SHA-256" | "SHA-384";
}

const RSA_EXPONENT = new Uint8Array([1, 0, 1]);

function rsa(bits: number): AlgorithmParams {
  return {
    keyGen: { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: RSA_EXPONENT, hash: "SHA-256" },
    keyImport: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    signing: { name: "RSASSA-PKCS1-v1_5" },
    signatureOid: "1.2.840.113549.1.1.11", // sha256WithRSAEncryption
    hash: "SHA-256",
  };
}

export const ALGORITHM_PARAMS: Record<KeyAlgorithm, AlgorithmParams> = {
  "EC-P256": {
    keyGen: { name: "ECDSA", namedCurve: "P-256" },
    keyImport: { name: "ECDSA", namedCurve: "P-256" },
    signing: { name: "ECDSA", hash: "SHA-256" },
    signatureOid: "1.2.840.10045.4.3.2", // ecdsa-with-SHA256
    hash: "SHA-256",
  },
  "EC-P384": {
    keyGen: { name: "ECDSA", namedCurve: "P-384" },
    keyImport: { name: "ECDSA", namedCurve: "P-384" },
    signing: { name: "ECDSA", hash: "SHA-384" },
    signatureOid: "1.2.840.10045.4.3.3", // ecdsa-with-SHA384
    hash: "SHA-384",
  },
  "RSA-2048": rsa(2048),
  "RSA-3072": rsa(3072),
  "RSA-4096": rsa(4096),
};

export function isKeyAlgorithm(value: unknown): value is KeyAlgorithm {
  return typeof value === "string" && (KEY_ALGORITHMS as readonly string[]).includes(value);
}
