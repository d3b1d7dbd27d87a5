// Encryption at rest under the master key (CERTFLEET_MASTER_KEY): CA private keys (PKCS#8) and
// PSK secrets are stored only in sealed form.
//
// Format (one ASCII string, fits a text column): "cfs1.<kid>.<iv>.<ct>"
//   kid  16 hex chars = first 8 bytes of SHA-256("certfleet-kid" || masterKey). It lets us tell
//        "this row was sealed under another master key" apart from "this row was altered".
//   iv   base64url, 12 random bytes, fresh for every seal (GCM must never reuse an IV under a key).
//   ct   base64url, AES-256-GCM ciphertext || 16-byte tag.
// The header "cfs1.<kid>" and an optional caller context (e.g. "ca-key:<caId>") are authenticated
// as AAD, so a sealed value cannot be moved to another row or relabelled without failing to open.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { PkiError } from "./errors";

export const MASTER_KEY_BYTES = 32;
const VERSION = "cfs1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type SealedSecret = string;

/** Short public identifier of a master key; safe to log and store. */
export function masterKeyId(masterKey: Uint8Array): string {
  assertMasterKey(masterKey);
  return createHash("sha256").update("certfleet-kid").update(masterKey).digest("hex").slice(0, 16);
}

export function sealSecret(masterKey: Uint8Array, plaintext: Uint8Array, context = ""): SealedSecret {
  const kid = masterKeyId(masterKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(kid, context));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${kid}.${iv.toString("base64url")}.${ct.toString("base64url")}`;
}

export function openSecret(masterKey: Uint8Array, sealed: SealedSecret, context = ""): Uint8Array {
  const kid = masterKeyId(masterKey);
  const parts = typeof sealed === "string" ? sealed.split(".") : [];
  if (parts.length !== 4 || parts[0] !== VERSION || !/^[0-9a-f]{16}$/.test(parts[1])) {
    throw new PkiError("SEALED_SECRET_MALFORMED", "Stored secret is not in the sealed format this version reads (cfs1).");
  }
  const [, sealedKid, ivText, ctText] = parts;
  if (sealedKid !== kid) {
    throw new PkiError(
      "MASTER_KEY_MISMATCH",
      `Stored secret was sealed under master key ${sealedKid}, but the configured master key is ${kid}. ` +
        "Set CERTFLEET_MASTER_KEY to the key this data was created with.",
    );
  }
  const iv = Buffer.from(ivText, "base64url");
  const ct = Buffer.from(ctText, "base64url");
  if (iv.length !== IV_BYTES || ct.length < TAG_BYTES) {
    throw new PkiError("SEALED_SECRET_MALFORMED", "Stored secret is truncated or damaged.");
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", masterKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(kid, context));
    decipher.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(ct.subarray(0, ct.length - TAG_BYTES)), decipher.final()]);
    return new Uint8Array(plain);
  } catch (cause) {
    // Same key id but authentication failed: the value was altered, belongs to another row
    // (context), or another key collided on the 8-byte id. Never hand back unauthenticated bytes.
    throw new PkiError(
      "MASTER_KEY_MISMATCH",
      "Stored secret failed authentication under the configured master key (altered data, or sealed for another record).",
      { cause },
    );
  }
}

/** Parses CERTFLEET_MASTER_KEY: standard or URL-safe base64 of exactly 32 bytes. */
export function masterKeyFromBase64(text: string): Uint8Array {
  const compact = (text ?? "").trim();
  const standard = compact.replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(standard)) {
    throw new PkiError("INVALID_INPUT", "Master key must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`).");
  }
  const bytes = Buffer.from(standard, "base64");
  // Buffer.from ignores junk silently; re-encoding catches truncated or padded-wrong input.
  if (bytes.toString("base64").replace(/=+$/, "") !== standard.replace(/=+$/, "") || bytes.length !== MASTER_KEY_BYTES) {
    throw new PkiError(
      "INVALID_INPUT",
      `Master key must decode to exactly ${MASTER_KEY_BYTES} bytes; got ${bytes.length}. Generate one with \`openssl rand -base64 32\`.`,
    );
  }
  return new Uint8Array(bytes);
}

function aad(kid: string, context: string): Buffer {
  return Buffer.from(`${VERSION}.${kid}\u0000${context}`, "utf8");
}

function assertMasterKey(masterKey: Uint8Array): void {
  if (!(masterKey instanceof Uint8Array) || masterKey.length !== MASTER_KEY_BYTES) {
    throw new PkiError("INVALID_INPUT", `Master key must be ${MASTER_KEY_BYTES} bytes.`);
  }
}
