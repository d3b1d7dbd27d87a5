// The signature AlgorithmIdentifier CertFleet writes into certificates, CRLs and OCSP responses:
// one encoding, so the three can never disagree about parameters.
import { encodeOid, invalidInput, TAG_SEQUENCE, tlv } from "./der";

const ECDSA_PREFIX = "1.2.840.10045.4.3.";
const PKCS1_PREFIX = "1.2.840.113549.1.1.";
const OID_RSASSA_PSS = `${PKCS1_PREFIX}10`;
const NULL = Uint8Array.of(0x05, 0x00);

// Encoded once per OID: OCSP writes one into every answer.
const encoded = new Map<string, Uint8Array>();

/**
 * AlgorithmIdentifier of a signature: ECDSA with parameters absent (RFC 5758 §3.2), PKCS#1 v1.5
 * RSA with an explicit NULL (RFC 4055 §5). RSASSA-PSS would need its parameters spelled out and
 * anything else is not something CertFleet signs with, so both are refused. The bytes returned
 * are shared: callers copy them, never change them.
 */
export function signatureAlgorithmIdentifier(oid: string): Uint8Array {
  let der = encoded.get(oid);
  if (!der) {
    if (oid.startsWith(ECDSA_PREFIX)) der = tlv(TAG_SEQUENCE, encodeOid(oid));
    else if (oid.startsWith(PKCS1_PREFIX) && oid !== OID_RSASSA_PSS) der = tlv(TAG_SEQUENCE, encodeOid(oid), NULL);
    else throw invalidInput(`Signature algorithm ${oid} is not supported.`);
    encoded.set(oid, der);
  }
  return der;
}
