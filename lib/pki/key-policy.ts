// Which public keys CertFleet certifies: EC P-256/P-384 and RSA of at least 2048 bits.
// Decided from the SubjectPublicKeyInfo bytes themselves (not via WebCrypto import), so keys on
// curves WebCrypto cannot load (P-521, secp256k1, brainpool, Ed25519…) still get a precise answer.
import * as asn1js from "asn1js";
import { AsnConvert } from "@peculiar/asn1-schema";
import { SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import type { KeyAlgorithm } from "./algorithms";
import { PkiError } from "./errors";

export const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
export const OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1";

const ACCEPTED_CURVES: Record<string, { keyAlgorithm: KeyAlgorithm; bits: number }> = {
  "1.2.840.10045.3.1.7": { keyAlgorithm: "EC-P256", bits: 256 },
  "1.3.132.0.34": { keyAlgorithm: "EC-P384", bits: 384 },
};

const REFUSED_CURVES: Record<string, string> = {
  "1.3.132.0.35": "EC P-521",
  "1.3.132.0.10": "EC secp256k1",
  "1.2.840.10045.3.1.1": "EC P-192",
  "1.3.132.0.33": "EC P-224",
  "1.3.36.3.3.2.8.1.1.7": "EC brainpoolP256r1",
  "1.3.36.3.3.2.8.1.1.11": "EC brainpoolP384r1",
  "1.3.36.3.3.2.8.1.1.13": "EC brainpoolP512r1",
  "1.2.156.10197.1.301": "EC SM2",
};

const REFUSED_ALGORITHMS: Record<string, string> = {
  "1.3.101.110": "X25519",
  "1.3.101.111": "X448",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
  "1.2.840.113549.1.1.10": "RSASSA-PSS",
  "1.2.840.10040.4.1": "DSA",
  "1.2.840.10046.2.1": "Diffie-Hellman",
};

const ACCEPTED_TEXT = "accepted keys are EC P-256, EC P-384 and RSA of 2048 to 8192 bits";
// Above this, RSA verification gets slow enough to be a denial-of-service lever for a public
// CSR endpoint, and no device class we know of uses it.
const RSA_MAX_BITS = 8192;

export interface KeyClass {
  /** Algorithm family and size. RSA of a non-standard size is reported under the largest standard size it meets. */
  keyAlgorithm: KeyAlgorithm;
  /** Exact key size in bits (modulus length for RSA, field size for EC). */
  bits: number;
  /** Human name, e.g. "EC P-256", "RSA-2048". */
  description: string;
  /** EC only: the uncompressed point 0x04 || X || Y. */
  ecPoint?: Uint8Array;
}

// The two SubjectPublicKeyInfo encodings nearly every device key has: id-ecPublicKey with a named
// curve and an uncompressed point (0x04 || X || Y). A key with exactly this header and length is
// what the full check below would call EC-P256 / EC-P384, without its ASN.1 parse (~60 µs, once
// per issuance and per CSR).
const EC_SPKI_HEADERS: { keyAlgorithm: KeyAlgorithm; bits: number; header: Buffer; length: number }[] = [
  { keyAlgorithm: "EC-P256", bits: 256, header: Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex"), length: 91 },
  { keyAlgorithm: "EC-P384", bits: 384, header: Buffer.from("3076301006072a8648ce3d020106052b81040022036200", "hex"), length: 120 },
];

/** Classifies a DER SubjectPublicKeyInfo, throwing KEY_POLICY (with the algorithm named) for anything else. */
export function classifySpki(spki: Uint8Array): KeyClass {
  for (const { keyAlgorithm, bits, header, length } of EC_SPKI_HEADERS) {
    if (spki.length === length && spki[header.length] === 0x04 && header.equals(spki.subarray(0, header.length))) {
      return { keyAlgorithm, bits, description: keyAlgorithm.replace("-", " "), ecPoint: spki.subarray(header.length) };
    }
  }
  return classifySpkiFully(spki);
}

/** The full policy check, parsing the structure (exported so a test holds the fast path to it). */
export function classifySpkiFully(spki: Uint8Array): KeyClass {
  let info: SubjectPublicKeyInfo;
  try {
    info = AsnConvert.parse(spki, SubjectPublicKeyInfo);
  } catch (cause) {
    throw new PkiError("INVALID_INPUT", "Public key is not a valid SubjectPublicKeyInfo structure.", { cause });
  }
  const oid = info.algorithm.algorithm;
  const keyBytes = new Uint8Array(info.subjectPublicKey);

  if (oid === OID_EC_PUBLIC_KEY) {
    const curveOid = namedCurveOf(info.algorithm.parameters);
    if (curveOid === null) {
      throw new PkiError("KEY_POLICY", `EC key with explicit curve parameters is not accepted; ${ACCEPTED_TEXT}.`);
    }
    const accepted = ACCEPTED_CURVES[curveOid];
    if (!accepted) {
      const name = REFUSED_CURVES[curveOid] ?? `EC curve ${curveOid}`;
      throw new PkiError("KEY_POLICY", `${name} keys are not accepted; ${ACCEPTED_TEXT}.`);
    }
    // Uncompressed point: 0x04 || X || Y. Compressed points are legal but WebCrypto and many
    // TLS stacks handle them poorly, and no CSR tool we support emits them.
    const coord = accepted.bits / 8;
    if (keyBytes.length !== 1 + 2 * coord || keyBytes[0] !== 0x04) {
      throw new PkiError("KEY_POLICY", `${accepted.keyAlgorithm} public key must be an uncompressed point of ${1 + 2 * coord} bytes.`);
    }
    return { keyAlgorithm: accepted.keyAlgorithm, bits: accepted.bits, description: accepted.keyAlgorithm.replace("-", " "), ecPoint: keyBytes };
  }

  if (oid === OID_RSA_ENCRYPTION) {
    const { bits, exponent } = rsaKeySize(keyBytes);
    if (bits < 2048) {
      throw new PkiError("KEY_POLICY", `RSA-${bits} keys are too weak; ${ACCEPTED_TEXT}.`);
    }
    if (bits > RSA_MAX_BITS) {
      throw new PkiError("KEY_POLICY", `RSA-${bits} keys are larger than supported; ${ACCEPTED_TEXT}.`);
    }
    if (exponent < 3n || exponent % 2n === 0n) {
      throw new PkiError("KEY_POLICY", `RSA public exponent ${exponent} is not valid (must be odd and at least 3).`);
    }
    const keyAlgorithm: KeyAlgorithm = bits >= 4096 ? "RSA-4096" : bits >= 3072 ? "RSA-3072" : "RSA-2048";
    return { keyAlgorithm, bits, description: `RSA-${bits}` };
  }

  const name = REFUSED_ALGORITHMS[oid] ?? `Key algorithm ${oid}`;
  throw new PkiError("KEY_POLICY", `${name} keys are not accepted; ${ACCEPTED_TEXT}.`);
}

function namedCurveOf(parameters: ArrayBuffer | null | undefined): string | null {
  if (!parameters) return null;
  const parsed = asn1js.fromBER(parameters);
  return parsed.offset !== -1 && parsed.result instanceof asn1js.ObjectIdentifier ? parsed.result.getValue() : null;
}

function rsaKeySize(rsaPublicKey: Uint8Array): { bits: number; exponent: bigint } {
  // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
  const parsed = asn1js.fromBER(rsaPublicKey);
  const seq = parsed.result;
  if (
    parsed.offset !== rsaPublicKey.length ||
    !(seq instanceof asn1js.Sequence) ||
    seq.valueBlock.value.length !== 2 ||
    !seq.valueBlock.value.every((v) => v instanceof asn1js.Integer)
  ) {
    throw new PkiError("INVALID_INPUT", "RSA public key is not a valid RSAPublicKey structure.");
  }
  const [n, e] = seq.valueBlock.value as asn1js.Integer[];
  const modulus = n.toBigInt();
  if (modulus <= 0n) throw new PkiError("INVALID_INPUT", "RSA modulus is not positive.");
  return { bits: modulus.toString(2).length, exponent: e.toBigInt() };
}
