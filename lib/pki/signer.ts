// The one way CertFleet signs with a CA (or OCSP responder) key. Callers never see key bytes:
// a local signer holds a decrypted key in memory; an HSM (PKCS#11) signer would implement
// the same interface and keep the key in the device.
import { constants, KeyObject, sign as nodeSign, type SignKeyObjectInput } from "node:crypto";
import { ALGORITHM_PARAMS, type KeyAlgorithm } from "./algorithms";
import { PkiError } from "./errors";

export interface Signer {
  readonly algorithm: KeyAlgorithm;
  readonly publicKey: CryptoKey;
  /** AlgorithmIdentifier OID of the signatures produced (ecdsa-with-SHA256, sha256WithRSAEncryption, …). */
  readonly signatureOid: string;
  /**
   * Signs `data` and returns the signature as X.509, CRLs and OCSP carry it:
   * ECDSA as a DER ECDSA-Sig-Value (not WebCrypto's r||s), RSA as PKCS#1 v1.5 bytes.
   * Return a plain Uint8Array that owns its bytes (not a pooled Buffer view): callers use `.buffer`.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

// Which local signatures run inline on the calling thread. node:crypto signs P-256 in ~20–50 µs,
// about what a threadpool round trip costs: inline issues ~15% more certificates/s sequentially,
// while the threadpool only helped 8-way concurrency when the second core happened to be idle.
// RSA-2048 (~0.3–0.5 ms) and P-384 (~0.7–1.3 ms: OpenSSL 3.0 has no optimised P-384) go to the
// libuv threadpool: the round trip is noise next to the work, concurrent issuances use every core
// (RSA: ~1.7x at 8-way on 2 cores), and the event loop, which also answers OCSP and serves CRLs,
// is not blocked for up to a millisecond per certificate.
const INLINE: ReadonlySet<KeyAlgorithm> = new Set(["EC-P256"]);

const CURVES: Partial<Record<KeyAlgorithm, string>> = { "EC-P256": "prime256v1", "EC-P384": "secp384r1" };

/**
 * A signer over a private key held in memory (the local, software signer). The WebCrypto key is
 * converted once to node:crypto's KeyObject and signed with crypto.sign: ECDSA comes out as DER
 * directly and there is no per-signature promise/threadpool/r||s re-encoding overhead, which made
 * up most of the cost of crypto.subtle.sign.
 */
export class CryptoKeySigner implements Signer {
  readonly signatureOid: string;
  // A #private field: unreachable from outside. (KeyObject.export does not honour the CryptoKey's
  // `extractable: false`, so the KeyObject must not leak; the CryptoKey itself is not kept.)
  readonly #options: SignKeyObjectInput;
  readonly #hash: string;
  readonly #inline: boolean;

  constructor(
    readonly algorithm: KeyAlgorithm,
    privateKey: CryptoKey,
    readonly publicKey: CryptoKey,
  ) {
    const params = ALGORITHM_PARAMS[algorithm];
    this.signatureOid = params.signatureOid;
    this.#hash = params.hash.replace("-", "").toLowerCase(); // "SHA-256" -> "sha256"
    this.#inline = INLINE.has(algorithm);
    const key = KeyObject.from(privateKey);
    const curve = CURVES[algorithm];
    const fits =
      key.type === "private" &&
      (curve ? key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === curve : key.asymmetricKeyType === "rsa");
    if (!fits) throw new PkiError("INVALID_INPUT", `The signer's private key is not an ${algorithm} private key.`);
    this.#options = curve ? { key, dsaEncoding: "der" } : { key, padding: constants.RSA_PKCS1_PADDING };
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    if (this.#inline) return new Uint8Array(nodeSign(this.#hash, data, this.#options));
    return new Promise((resolve, reject) => {
      // The async form copies `data` before queueing, so callers may reuse their buffer.
      nodeSign(this.#hash, data, this.#options, (err, signature) => (err ? reject(err) : resolve(new Uint8Array(signature))));
    });
  }
}
