// PKCS#12 (.p12/.pfx) bundles for devices and tools that want key + certificate + chain in one
// password-protected file.
//
// Encryption is PBES2 (PBKDF2-HMAC-SHA256 → AES-256-CBC) for both the key bag and the
// certificate bags, and the MAC uses SHA-256, so OpenSSL 3 opens it without `-legacy` (the old
// RC2/3DES + SHA-1 defaults are disabled there). Layout follows what OpenSSL itself writes: an
// encrypted SafeContents with the certificates, and a plain SafeContents with the shrouded key.
import { createHash, webcrypto } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { PkiError } from "./errors";
import { classifySpki } from "./key-policy";
import { exportSpki, localSigner } from "./keys";
import { X509Certificate } from "./x509";

export interface BuildPkcs12Params {
  privateKeyPkcs8: Uint8Array;
  certificate: Uint8Array;
  /** Issuing CA first, then up to the root (or stop before it; relying parties have the root). */
  chain?: Uint8Array[];
  password: string;
  friendlyName?: string;
  /** PBKDF2 and MAC iterations; the default balances offline-guessing cost and device tooling speed. */
  iterations?: number;
}

export const PKCS12_DEFAULT_ITERATIONS = 100_000;
const MIN_ITERATIONS = 2048;

const OID_KEY_BAG_SHROUDED = "1.2.840.113549.1.12.10.1.2";
const OID_CERT_BAG = "1.2.840.113549.1.12.10.1.3";
const OID_X509_CERT = "1.2.840.113549.1.9.22.1";
const OID_FRIENDLY_NAME = "1.2.840.113549.1.9.20";
const OID_LOCAL_KEY_ID = "1.2.840.113549.1.9.21";

// A private engine rather than pkijs.setEngine(): other modules (OCSP) may use pkijs too, and a
// global engine would make the result depend on import order.
const engine = new pkijs.CryptoEngine({ name: "certfleet-node", crypto: webcrypto as unknown as Crypto });

export async function buildPkcs12(params: BuildPkcs12Params): Promise<Uint8Array> {
  const iterations = params.iterations ?? PKCS12_DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS) {
    throw new PkiError("INVALID_INPUT", `PKCS#12 iterations must be an integer of at least ${MIN_ITERATIONS}.`);
  }
  if (typeof params.password !== "string" || params.password.length === 0) {
    // OpenSSL treats an empty password and no password differently across versions; refuse both.
    throw new PkiError("INVALID_INPUT", "A PKCS#12 password is required.");
  }
  await assertKeyMatchesCertificate(params.privateKeyPkcs8, params.certificate);

  const password = new TextEncoder().encode(params.password).slice().buffer;
  const pbes2: Parameters<pkijs.PKCS8ShroudedKeyBag["makeInternalValues"]>[0] = {
    password,
    // pkijs draws the IV itself; its type still asks for one, hence the cast.
    contentEncryptionAlgorithm: { name: "AES-CBC", length: 256 } as pkijs.ContentEncryptionAlgorithm,
    hmacHashAlgorithm: "SHA-256",
    iterationCount: iterations,
  };
  // localKeyId ties the key bag to its certificate bag; SHA-1 of the certificate is what OpenSSL
  // and Windows write, and it is an identifier here, not a security mechanism.
  const localKeyId = createHash("sha1").update(params.certificate).digest();
  const leafAttributes = [
    ...(params.friendlyName
      ? [new pkijs.Attribute({ type: OID_FRIENDLY_NAME, values: [new asn1js.BmpString({ value: params.friendlyName })] })]
      : []),
    new pkijs.Attribute({ type: OID_LOCAL_KEY_ID, values: [new asn1js.OctetString({ valueHex: localKeyId })] }),
  ];

  let keyInfo: pkijs.PrivateKeyInfo;
  try {
    keyInfo = pkijs.PrivateKeyInfo.fromBER(params.privateKeyPkcs8.slice());
  } catch (cause) {
    throw new PkiError("INVALID_INPUT", "Private key is not a valid PKCS#8 structure.", { cause });
  }
  const shroudedKey = new pkijs.PKCS8ShroudedKeyBag({ parsedValue: keyInfo });
  await shroudedKey.makeInternalValues(pbes2, engine);

  const certBag = (der: Uint8Array, attributes?: pkijs.Attribute[]) =>
    new pkijs.SafeBag({
      bagId: OID_CERT_BAG,
      // Carry the original DER; letting pkijs re-encode a parsed certificate risks changing bytes.
      bagValue: new pkijs.CertBag({ certId: OID_X509_CERT, certValue: new asn1js.OctetString({ valueHex: der.slice().buffer }) }),
      ...(attributes ? { bagAttributes: attributes } : {}),
    });

  const authenticatedSafe = new pkijs.AuthenticatedSafe({
    parsedValue: {
      safeContents: [
        {
          privacyMode: 1, // password-encrypted (EncryptedData, PBES2)
          value: new pkijs.SafeContents({
            safeBags: [certBag(params.certificate, leafAttributes), ...(params.chain ?? []).map((der) => certBag(der))],
          }),
        },
        {
          privacyMode: 0, // plain Data: the key bag is already shrouded
          value: new pkijs.SafeContents({
            safeBags: [new pkijs.SafeBag({ bagId: OID_KEY_BAG_SHROUDED, bagValue: shroudedKey, bagAttributes: leafAttributes })],
          }),
        },
      ],
    },
  });
  await authenticatedSafe.makeInternalValues({ safeContents: [pbes2, {}] }, engine);

  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } });
  await pfx.makeInternalValues(
    { password, iterations, pbkdf2HashAlgorithm: "SHA-256", hmacHashAlgorithm: "SHA-256" },
    engine,
  );
  return new Uint8Array(pfx.toSchema().toBER(false));
}

/** A bundle whose key does not fit its certificate fails only at TLS handshake time; refuse it now. */
async function assertKeyMatchesCertificate(pkcs8: Uint8Array, certificateDer: Uint8Array): Promise<void> {
  let certSpki: Uint8Array;
  try {
    certSpki = new Uint8Array(new X509Certificate(certificateDer.slice()).publicKey.rawData);
  } catch (cause) {
    throw new PkiError("INVALID_INPUT", "Certificate for the PKCS#12 bundle is not valid DER.", { cause });
  }
  const { keyAlgorithm } = classifySpki(certSpki);
  const signer = await localSigner(keyAlgorithm, pkcs8);
  const keySpki = await exportSpki(signer.publicKey);
  if (!Buffer.from(keySpki).equals(Buffer.from(certSpki))) {
    throw new PkiError("INVALID_INPUT", "The private key does not belong to the certificate.");
  }
}
