// CA keys on a PKCS#11 token (CERTFLEET_PKCS11_*): the one token connection of the process, signers
// for CAs whose CertificateAuthority.keyRef names a token key, and key generation for new CAs.
// Only CA keys live on the token; OCSP responder and HTTPS keys stay in software (README, HSM).
import { randomBytes, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { config, type Pkcs11Config } from "../config";
import { AppError } from "../errors";
import { ALGORITHM_PARAMS, importPublicKeySpki, isKeyAlgorithm, toX509Certificate, type KeyAlgorithm, type Signer } from "../pki";
import { formatKeyRef, parseKeyRef, Pkcs11Token, type Pkcs11KeyRef } from "../pki/pkcs11";

// On globalThis: the custom server and Next's bundle load this module separately and must share
// one token connection. The remembered failure is a message, not an error object: each copy of the
// module has its own AppError class, and instanceof checks would miss the other copy's errors.
const g = globalThis as unknown as { __certfleetToken?: { token: Pkcs11Token | null; failure: string | null } };
const state = (g.__certfleetToken ??= { token: null, failure: null });

/** Whether CERTFLEET_PKCS11_MODULE is set: new CA keys then go to the token. */
export function tokenConfigured(): boolean {
  return config().pkcs11 !== null;
}

function readPin(cfg: Pkcs11Config): string {
  if (cfg.pin !== undefined) return cfg.pin;
  try {
    return readFileSync(cfg.pinFile!, "utf8").replace(/\r?\n$/, "");
  } catch (e) {
    throw new AppError("TOKEN_UNAVAILABLE", `Cannot read CERTFLEET_PKCS11_PIN_FILE ${cfg.pinFile}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

const TOKEN_CODES = new Set(["TOKEN_UNAVAILABLE", "TOKEN_PIN_INCORRECT", "KEY_NOT_FOUND"]);
const REFUSED = "CA functions (issuance, CRL signing) are refused until it is fixed; stored CRLs and OCSP answers are still served.";

/** Turns the token layer's errors into the 503 every CA function answers while the token is unusable. */
export function tokenError(e: unknown): unknown {
  // By name and code, not instanceof: the token object may come from the other copy of lib/pki.
  const err = e as { name?: string; code?: string; message?: string };
  if (err?.name === "PkiError" && TOKEN_CODES.has(err.code ?? "")) return new AppError("TOKEN_UNAVAILABLE", `${err.message} ${REFUSED}`);
  return e;
}

/**
 * The process's token connection, opened on first use. A wrong PIN is remembered and answered at
 * once from then on (never retried: tokens lock after repeated failures); a missing token is tried
 * again by the next caller.
 */
export function caToken(): Pkcs11Token {
  const cfg = config().pkcs11;
  if (!cfg) throw new AppError("TOKEN_UNAVAILABLE", "A CA key is on a PKCS#11 token, but no token is configured (CERTFLEET_PKCS11_MODULE, _TOKEN_LABEL or _SLOT, _PIN or _PIN_FILE).");
  if (state.failure) throw new AppError("TOKEN_UNAVAILABLE", `${state.failure} ${REFUSED}`);
  try {
    // One object for the process's life: after a failure it reconnects itself (throttled).
    state.token ??= Pkcs11Token.create({ module: cfg.module, tokenLabel: cfg.tokenLabel, slot: cfg.slot, pin: readPin(cfg) });
    state.token.ensureConnected();
    return state.token;
  } catch (e) {
    if ((e as { code?: string }).code === "TOKEN_PIN_INCORRECT") state.failure = (e as Error).message;
    throw tokenError(e);
  }
}

/** A signer for a CA whose key is on the token, checked against the CA certificate's public key. */
export async function tokenSigner(ca: { slug: string; keyAlgorithm: string; keyRef: string; certificateDer: Uint8Array }): Promise<Signer> {
  if (!isKeyAlgorithm(ca.keyAlgorithm)) throw new AppError("INTERNAL", `CA ${ca.slug} has an unknown key algorithm`);
  try {
    const cert = toX509Certificate(ca.certificateDer);
    const publicKey = await importPublicKeySpki(ca.keyAlgorithm, new Uint8Array(cert.publicKey.rawData));
    const signer = await caToken().signer(parseKeyRef(ca.keyRef), ca.keyAlgorithm, publicKey);
    // The public key came from the certificate, so comparing keys would prove nothing: one probe
    // signature shows the token key is the certificate's (a wrong label or id is caught here).
    const probe = randomBytes(32);
    const hash = ALGORITHM_PARAMS[ca.keyAlgorithm].hash.replace("-", "").toLowerCase();
    const spki = { key: Buffer.from(cert.publicKey.rawData), format: "der" as const, type: "spki" as const, dsaEncoding: "der" as const };
    if (!verify(hash, probe, spki, await signer.sign(probe))) {
      throw new AppError("TOKEN_UNAVAILABLE", `The token key ${ca.keyRef} does not belong to the certificate of CA "${ca.slug}". Nothing was signed.`);
    }
    return signer;
  } catch (e) {
    throw tokenError(e);
  }
}

/** Generates a CA key on the token, labelled certfleet-<slug>. */
export async function generateTokenKey(algorithm: KeyAlgorithm, slug: string): Promise<{ keyRef: string; ref: Pkcs11KeyRef; signer: Signer }> {
  try {
    const { ref, signer } = await caToken().generateKey(algorithm, `certfleet-${slug}`);
    return { keyRef: formatKeyRef(ref), ref, signer };
  } catch (e) {
    throw tokenError(e);
  }
}

/** Removes key pairs generated for CAs that were then not recorded (a failed or lost race). */
export async function destroyTokenKeys(refs: Pkcs11KeyRef[], log: (line: string) => void): Promise<void> {
  for (const ref of refs) {
    try {
      await caToken().destroyKey(ref);
    } catch (e) {
      log(`[certfleet] could not remove the unused token key ${formatKeyRef(ref)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

export function forgetTokenForTests() {
  state.token?.close();
  state.token = null;
  state.failure = null;
}
