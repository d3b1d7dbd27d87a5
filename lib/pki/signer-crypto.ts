// Lets @peculiar/x509's generators (certificates, CRLs, CSRs) sign through any `Signer`.
//
// The generators take `signingKey: CryptoKey` plus an optional `Crypto` and call
// `crypto.subtle.sign(algorithm, signingKey, tbs)` expecting WebCrypto's output format. We hand
// them an opaque key handle and a Crypto whose subtle.sign routes that handle to `signer.sign`,
// converting the X.509-form ECDSA signature back to r||s (the generator re-encodes it to DER).
// Everything else (digests for key identifiers, random serials, SPKI export) goes to the real
// WebCrypto. No key bytes cross this boundary, so an HSM signer plugs in unchanged.
import { ALGORITHM_PARAMS } from "./algorithms";
import { PkiError } from "./errors";
import { ecdsaDerToRaw } from "./ecdsa-signature";
import type { Signer } from "./signer";
import { crypto as webCrypto } from "./x509";

export interface SignerBinding {
  /** Pass as the generator's `crypto` argument. */
  crypto: Crypto;
  /** Pass as `signingKey`: a handle only the bound `crypto` can use. */
  signingKey: CryptoKey;
  /** Pass as `signingAlgorithm`. */
  signingAlgorithm: Algorithm;
}

export function bindSigner(signer: Signer): SignerBinding {
  const params = ALGORITHM_PARAMS[signer.algorithm];
  // The generators merge `signingKey.algorithm` into the signing algorithm, so the handle's
  // algorithm must name the hash too (RSA) and the curve (EC) for the right signature OID.
  const handle = Object.freeze({
    type: "private",
    extractable: false,
    usages: ["sign"],
    algorithm: { ...params.keyImport, hash: { name: params.hash } },
  }) as unknown as CryptoKey;

  const realSubtle = webCrypto.subtle;
  const sign = async (algorithm: AlgorithmIdentifier, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer> => {
    if (key !== handle) return realSubtle.sign(algorithm, key, data);
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
      : new Uint8Array(data).slice();
    const signature = await signer.sign(bytes);
    if (!signer.algorithm.startsWith("EC-")) return signature.slice().buffer;
    const coordinateBytes = signer.algorithm === "EC-P384" ? 48 : 32;
    const raw = ecdsaDerToRaw(signature, coordinateBytes);
    if (!raw) {
      throw new PkiError("SIGNER_MISMATCH", `Signer for ${signer.algorithm} returned a malformed ECDSA signature.`);
    }
    return raw.buffer as ArrayBuffer;
  };

  const subtle = new Proxy(realSubtle, {
    get(target, prop) {
      if (prop === "sign") return sign;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const crypto = {
    subtle,
    getRandomValues: webCrypto.getRandomValues.bind(webCrypto),
    randomUUID: webCrypto.randomUUID.bind(webCrypto),
  } as Crypto;

  return { crypto, signingKey: handle, signingAlgorithm: { ...params.signing, hash: params.hash } as unknown as Algorithm };
}
