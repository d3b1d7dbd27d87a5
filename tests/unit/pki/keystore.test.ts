// Sealing secrets at rest under the master key.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createRootCa,
  localSigner,
  masterKeyFromBase64,
  masterKeyId,
  openSecret,
  PkiError,
  sealSecret,
} from "@/lib/pki";

const key = () => new Uint8Array(randomBytes(32));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PkiError);
    return (e as PkiError).code;
  }
  return undefined;
}

describe("keystore", () => {
  it("round-trips, with a fresh IV per seal and no plaintext in the sealed form", () => {
    const mk = key();
    const plaintext = new TextEncoder().encode("PSK-SECRET-0123456789-PSK-SECRET-0123456789");
    const a = sealSecret(mk, plaintext);
    const b = sealSecret(mk, plaintext);
    expect(a).not.toBe(b);
    expect(a.startsWith(`cfs1.${masterKeyId(mk)}.`)).toBe(true);
    expect(Buffer.from(openSecret(mk, a)).equals(Buffer.from(plaintext))).toBe(true);
    expect(Buffer.from(openSecret(mk, b)).equals(Buffer.from(plaintext))).toBe(true);
    for (const form of [Buffer.from(a), Buffer.from(a.split(".")[3], "base64url")]) {
      expect(form.includes(Buffer.from("PSK-SECRET"))).toBe(false);
      expect(form.includes(Buffer.from(plaintext.subarray(0, 8)))).toBe(false);
    }
    expect(openSecret(mk, sealSecret(mk, new Uint8Array()))).toHaveLength(0);
  });

  it("throws MASTER_KEY_MISMATCH for another master key, with both key ids in the message", () => {
    const mk = key();
    const other = key();
    const sealed = sealSecret(mk, new Uint8Array([1, 2, 3]));
    try {
      openSecret(other, sealed);
      expect.unreachable();
    } catch (e) {
      expect((e as PkiError).code).toBe("MASTER_KEY_MISMATCH");
      expect((e as PkiError).message).toContain(masterKeyId(mk));
      expect((e as PkiError).message).toContain(masterKeyId(other));
    }
  });

  it("never returns bytes that fail authentication (altered ciphertext, wrong context)", () => {
    const mk = key();
    const sealed = sealSecret(mk, new Uint8Array(64).fill(7), "ca-key:1");
    expect(openSecret(mk, sealed, "ca-key:1")).toHaveLength(64);
    expect(code(() => openSecret(mk, sealed, "ca-key:2"))).toBe("MASTER_KEY_MISMATCH");
    const parts = sealed.split(".");
    const ct = Buffer.from(parts[3], "base64url");
    ct[0] ^= 1;
    parts[3] = ct.toString("base64url");
    expect(code(() => openSecret(mk, parts.join("."), "ca-key:1"))).toBe("MASTER_KEY_MISMATCH");
    expect(code(() => openSecret(mk, "not sealed"))).toBe("SEALED_SECRET_MALFORMED");
    expect(code(() => openSecret(mk, sealed.slice(0, 40)))).toBe("SEALED_SECRET_MALFORMED");
  });

  it("seals a CA private key that comes back as a working signer", async () => {
    const mk = key();
    const ca = await createRootCa({ subject: "CN=Sealed Root", algorithm: "EC-P384" });
    const sealed = sealSecret(mk, ca.pkcs8!);
    const signer = await localSigner("EC-P384", openSecret(mk, sealed));
    const data = new TextEncoder().encode("tbs");
    const sig = await signer.sign(data);
    const raw = (await import("@/lib/pki")).ecdsaDerToRaw(sig, 48)!;
    const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, ca.signer.publicKey, raw.slice().buffer, data);
    expect(ok).toBe(true);
  });

  it("parses CERTFLEET_MASTER_KEY as exactly 32 bytes of base64", () => {
    const raw = randomBytes(32);
    expect(Buffer.from(masterKeyFromBase64(raw.toString("base64"))).equals(raw)).toBe(true);
    expect(Buffer.from(masterKeyFromBase64(` ${raw.toString("base64url")}\n`)).equals(raw)).toBe(true);
    expect(code(() => masterKeyFromBase64(randomBytes(16).toString("base64")))).toBe("INVALID_INPUT");
    expect(code(() => masterKeyFromBase64(randomBytes(33).toString("base64")))).toBe("INVALID_INPUT");
    expect(code(() => masterKeyFromBase64("not base64 at all!"))).toBe("INVALID_INPUT");
    expect(code(() => masterKeyFromBase64(""))).toBe("INVALID_INPUT");
  });
});
