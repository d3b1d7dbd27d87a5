// TLS-PSK secrets and the two broker file encodings (framework-free; time and randomness are the
// only inputs from outside, the clock is injected).
//
// THE ENCODING RULE (keep it; devices in the field depend on it):
//   A PSK secret is S = 64 lowercase hex characters (32 random bytes, 256 bits of entropy).
//   The TLS key bytes are the 64 ASCII bytes of S — in EVERY broker and on every device.
//   - EMQX reads `identity:secret` and uses the secret's raw string bytes, so its file holds S.
//   - Mosquitto reads `identity:hexkey` and hex-decodes it, so its file holds hex(ASCII(S)), a
//     128-character hex string that decodes back to the same 64 bytes.
//   Handing S itself to Mosquitto would give 32 key bytes and EMQX 64: the same line would mean
//   different keys. A device (or `mosquitto_pub --psk`) that wants hex gets keyHex = hex(ASCII(S)).
//   S is hex so it stays printable, separator-free and safe in both files.
import { createHmac, randomBytes } from "node:crypto";
import { PkiError } from "./errors";
import type { Clock } from "./clock";

export const PSK_SECRET_BYTES = 32;
/** S is the lowercase hex of PSK_SECRET_BYTES random bytes. */
export const PSK_SECRET_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Identities are written verbatim into both files: no ':' (the separator of both formats; EMQX
 * splits at the first one), no whitespace, no '#' (a Mosquitto comment), nothing outside ASCII.
 * At most 128 characters: OpenSSL 1.1's PSK_MAX_IDENTITY_LEN, still common on devices (broker-sync
 * warns above it too). A device name near that length needs an explicit identity for `.v<n>`.
 */
export const PSK_IDENTITY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const PSK_IDENTITY_MAX_LENGTH = 128;

export type PskFormat = "mosquitto" | "emqx";
export const PSK_FORMATS = ["mosquitto", "emqx"] as const satisfies readonly PskFormat[];

export interface PskKey {
  /** S: what EMQX's file and a device use as raw key bytes (ASCII). */
  key: string;
  /** hex(ASCII(S)): what Mosquitto's psk_file and `mosquitto_pub --psk` take. */
  keyHex: string;
}

export function isValidPskIdentity(identity: string): boolean {
  return identity.length <= PSK_IDENTITY_MAX_LENGTH && PSK_IDENTITY_PATTERN.test(identity);
}

function assertIdentity(identity: string): void {
  if (!isValidPskIdentity(identity)) {
    const shown = JSON.stringify(identity.length > 40 ? `${identity.slice(0, 40)}…` : identity);
    throw new PkiError("INVALID_INPUT", `PSK identity ${shown} is not usable: 1-${PSK_IDENTITY_MAX_LENGTH} of A-Z a-z 0-9 . _ - starting with a letter or digit (give another identity)`);
  }
}

function assertSecret(secret: string): void {
  // Never put the value in the message: it is a key.
  if (!PSK_SECRET_PATTERN.test(secret)) throw new PkiError("INVALID_INPUT", "PSK secret is not 64 lowercase hex characters");
}

/** A fresh secret S (256 bits from the CSPRNG). */
export function generatePskSecret(random: (n: number) => Uint8Array = randomBytes): string {
  const bytes = random(PSK_SECRET_BYTES);
  if (bytes.length !== PSK_SECRET_BYTES) throw new PkiError("INVALID_INPUT", "random source returned the wrong length");
  return Buffer.from(bytes).toString("hex");
}

/** The TLS key bytes of S (identical for both brokers). */
export function pskKeyBytes(secret: string): Uint8Array {
  assertSecret(secret);
  return new Uint8Array(Buffer.from(secret, "ascii"));
}

/** Mosquitto's encoding of S: hex of its ASCII bytes. */
export function mosquittoKeyHex(secret: string): string {
  return Buffer.from(pskKeyBytes(secret)).toString("hex");
}

export function describePskKey(secret: string): PskKey {
  return { key: secret, keyHex: mosquittoKeyHex(secret) };
}

/**
 * Identity of a given version: version 1 is the base itself, later versions `<base>.v<n>`.
 * New versions exist only for rotations with an overlap window (both files hold one key per
 * identity, so two keys valid at once need two identities).
 */
export function pskIdentityForVersion(base: string, version: number): string {
  if (!Number.isInteger(version) || version < 1) throw new PkiError("INVALID_INPUT", "PSK version must be a positive integer");
  const identity = version === 1 ? base : `${base}.v${version}`;
  assertIdentity(identity);
  return identity;
}

/** The base a versioned identity was derived from (`dev.v3` at version 3 → `dev`). */
export function pskIdentityBase(identity: string, version: number): string {
  const suffix = `.v${version}`;
  return version > 1 && identity.endsWith(suffix) && identity.length > suffix.length ? identity.slice(0, -suffix.length) : identity;
}

export interface ExportablePsk {
  identity: string;
  /** S; absent for rows that are only tombstoned (their secret is never opened). */
  secret?: string;
  status: "active" | "revoked";
  /** End of an overlap window. */
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** Whether a PSK must be accepted by a broker at `now`. */
export function isPskLive(p: { status: string; expiresAt: Date | null }, now: Date): boolean {
  return p.status === "active" && (p.expiresAt === null || p.expiresAt.getTime() > now.getTime());
}

/** When a PSK stopped being live (revocation or end of its overlap window), or null if it is live. */
export function pskEndedAt(p: Pick<ExportablePsk, "status" | "expiresAt" | "revokedAt">, now: Date): Date | null {
  if (p.status === "revoked") return p.revokedAt ?? new Date(0);
  if (p.expiresAt && p.expiresAt.getTime() <= now.getTime()) return p.expiresAt;
  return null;
}

/**
 * The secret that overwrites a dead identity in EMQX (its import only inserts or updates, so a
 * missing line would leave the old key working). Derived, not random per request: HMAC under the
 * master key of the identity and the time it ended. Nobody without the master key can compute it,
 * it is never handed out, and it is stable, so the export's ETag stays stable and broker-sync does
 * not reinstall (and EMQX re-import) an unchanged file on every poll. Anyone who can read the file
 * already holds every live key, so a stable tombstone gives them nothing extra.
 */
export function pskTombstoneSecret(masterKey: Uint8Array, identity: string, endedAt: Date): string {
  return createHmac("sha256", masterKey).update("certfleet-psk-tombstone\u0000").update(identity).update("\u0000").update(endedAt.toISOString()).digest("hex");
}

export interface PskExportOptions {
  format: PskFormat;
  clock: Clock;
  /** EMQX only: identities that ended within this many ms get a tombstone line. */
  tombstoneRetentionMs: number;
  /** EMQX only: needed to derive tombstones. */
  masterKey?: Uint8Array;
}

export interface PskExport {
  body: string;
  /** Live lines in the file (tombstones not counted). */
  liveCount: number;
  tombstoneCount: number;
  /** The next instant the file's content changes by itself (overlap end, tombstone retention end), or null. */
  changesAt: Date | null;
}

/**
 * Builds a broker's PSK file. Lines are sorted by identity so that the same set of PSKs always
 * gives the same bytes (and ETag). No comments and no blank lines (EMQX accepts neither).
 *   mosquitto: `identity:hex(ASCII(S))` for live PSKs only.
 *   emqx:      `identity:S` for live PSKs, plus `identity:<tombstone>` for identities that ended
 *              within the retention window.
 */
export function buildPskFile(psks: Iterable<ExportablePsk>, options: PskExportOptions): PskExport {
  const now = options.clock.now();
  const lines = new Map<string, string>();
  let tombstoneCount = 0;
  let changesAt: number | null = null;
  const soonest = (t: number) => {
    if (t > now.getTime() && (changesAt === null || t < changesAt)) changesAt = t;
  };
  for (const p of psks) {
    assertIdentity(p.identity);
    if (lines.has(p.identity)) throw new PkiError("INVALID_INPUT", `PSK identity "${p.identity}" appears twice`);
    if (isPskLive(p, now)) {
      if (p.secret === undefined) throw new PkiError("INVALID_INPUT", `PSK "${p.identity}" is live but its secret was not given`);
      lines.set(p.identity, options.format === "mosquitto" ? mosquittoKeyHex(p.secret) : (assertSecret(p.secret), p.secret));
      if (p.expiresAt) soonest(p.expiresAt.getTime());
      continue;
    }
    if (options.format !== "emqx") continue;
    const ended = pskEndedAt(p, now)!;
    const until = ended.getTime() + options.tombstoneRetentionMs;
    if (until <= now.getTime()) continue;
    if (!options.masterKey) throw new PkiError("INVALID_INPUT", "EMQX tombstones need the master key");
    lines.set(p.identity, pskTombstoneSecret(options.masterKey, p.identity, ended));
    tombstoneCount++;
    soonest(until);
  }
  const identities = [...lines.keys()].sort();
  const body = identities.map((id) => `${id}:${lines.get(id)}\n`).join("");
  return { body, liveCount: lines.size - tombstoneCount, tombstoneCount, changesAt: changesAt === null ? null : new Date(changesAt) };
}
