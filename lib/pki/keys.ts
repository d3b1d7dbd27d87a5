// Key pairs: generation, PKCS#8/SPKI import and export, and the local (software) signer.
import { KeyObject } from "node:crypto";
import { ALGORITHM_PARAMS, type KeyAlgorithm } from "./algorithms";
import { PkiError } from "./errors";
import { classifySpki } from "./key-policy";
import { toPem } from "./pem";
import { CryptoKeySigner } from "./signer";
import { crypto } from "./x509";

/**
 * Generates a key pair. The private key is extractable because the caller seals its PKCS#8 for
 * storage (CA keys) or hands it to the device once (server-generated device keys).
 */
export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM_PARAMS[algorithm].keyGen, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

export async function exportPkcs8(privateKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("pkcs8", privateKey));
}

export async function exportPkcs8Pem(privateKey: CryptoKey): Promise<string> {
  return toPem(await exportPkcs8(privateKey), "PRIVATE KEY");
}

export async function exportSpki(publicKey: CryptoKey): Promise<Uint8Array> {
  // node:crypto's view of the same key: identical DER to subtle.exportKey("spki"), without a
  // threadpool round trip (this runs for every certificate issued to a CryptoKey).
  if (publicKey.type !== "public") throw new PkiError("INVALID_INPUT", "Expected a public key.");
  return new Uint8Array(KeyObject.from(publicKey).export({ type: "spki", format: "der" }));
}

/** Imports a PKCS#8 private key, checking it really is a key of `algorithm` (curve and size). */
export async function importPrivateKeyPkcs8(
  algorithm: KeyAlgorithm,
  pkcs8: Uint8Array,
  extractable = false,
): Promise<CryptoKey> {
  const { privateKey } = await importKeyPair(algorithm, pkcs8, extractable);
  return privateKey;
}

export async function importPublicKeySpki(algorithm: KeyAlgorithm, spki: Uint8Array): Promise<CryptoKey> {
  const actual = classifySpki(spki);
  if (actual.keyAlgorithm !== algorithm || (algorithm.startsWith("RSA-") && actual.bits !== rsaBits(algorithm))) {
    throw new PkiError("INVALID_INPUT", `Public key is ${actual.description}, expected ${algorithm}.`);
  }
  return crypto.subtle.importKey("spki", spki.slice().buffer, ALGORITHM_PARAMS[algorithm].keyImport, true, ["verify"]);
}

/** A signer over a PKCS#8 key held in memory; the CryptoKey it keeps cannot be exported again. */
export async function localSigner(algorithm: KeyAlgorithm, pkcs8: Uint8Array): Promise<CryptoKeySigner> {
  const { privateKey, publicKey } = await importKeyPair(algorithm, pkcs8, false);
  return new CryptoKeySigner(algorithm, privateKey, publicKey);
}

/** Classifies a public key for policy decisions (KEY_POLICY for keys CertFleet does not certify). */
export async function keyAlgorithmOfPublicKey(key: CryptoKey | Uint8Array): Promise<KeyAlgorithm> {
  const spki = key instanceof Uint8Array ? key : await exportSpki(key);
  return classifySpki(spki).keyAlgorithm;
}

/**
 * PKCS#8 does not reliably carry the public key (RFC 5915's optional field; never for RSA), so the
 * public half is recomputed: import once extractable, read the public JWK members, import those.
 * The extractable copy lives only inside this function.
 */
async function importKeyPair(
  algorithm: KeyAlgorithm,
  pkcs8: Uint8Array,
  extractable: boolean,
): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  const params = ALGORITHM_PARAMS[algorithm];
  let transient: CryptoKey;
  try {
    transient = await crypto.subtle.importKey("pkcs8", pkcs8.slice().buffer, params.keyImport, true, ["sign"]);
  } catch (cause) {
    throw new PkiError("INVALID_INPUT", `Private key is not a valid ${algorithm} PKCS#8 key.`, { cause });
  }
  const jwk = await crypto.subtle.exportKey("jwk", transient);
  const publicJwk: JsonWebKey =
    jwk.kty === "EC" ? { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: "RSA", n: jwk.n, e: jwk.e };
  const publicKey = await crypto.subtle.importKey("jwk", publicJwk, params.keyImport, true, ["verify"]);
  if (algorithm.startsWith("RSA-")) {
    const bits = (publicKey.algorithm as RsaHashedKeyAlgorithm).modulusLength;
    if (bits !== rsaBits(algorithm)) {
      throw new PkiError("INVALID_INPUT", `Private key is RSA-${bits}, expected ${algorithm}.`);
    }
  }
  const privateKey = extractable
    ? transient
    : await crypto.subtle.importKey("jwk", jwk, params.keyImport, false, ["sign"]);
  return { privateKey, publicKey };
}

function rsaBits(algorithm: KeyAlgorithm): number {
  return Number(algorithm.slice(4));
}
