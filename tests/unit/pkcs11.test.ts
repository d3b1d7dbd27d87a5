// The PKCS#11 signer against a real SoftHSM2 token: key attributes, signatures checked by OpenSSL
// for every algorithm, key references, a lost token and its return, wrong PIN, unusable input.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { exportSpki, toPem, type KeyAlgorithm } from "../../lib/pki";
import { formatKeyRef, parseKeyRef, Pkcs11Token } from "../../lib/pki/pkcs11";
import { Workdir } from "../helpers/openssl";

const MODULE = "/usr/lib/softhsm/libsofthsm2.so";
const dir = mkdtempSync(path.join(tmpdir(), "certfleet-pkcs11-"));
const tokens = path.join(dir, "tokens");
const label = "unit-token";
let token: Pkcs11Token;
let wrongPin: unknown;
const work = new Workdir();

beforeAll(() => {
  mkdirSync(tokens);
  process.env.SOFTHSM2_CONF = path.join(dir, "softhsm2.conf");
  writeFileSync(process.env.SOFTHSM2_CONF, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", "so-secret", "--pin", "1234"]);
  // Before any login: PKCS#11 logins are per process and token, so once one session is logged in
  // the module answers CKR_USER_ALREADY_LOGGED_IN to any PIN.
  try {
    Pkcs11Token.open({ module: MODULE, tokenLabel: label, pin: "0000" });
  } catch (e) {
    wrongPin = e;
  }
  token = Pkcs11Token.open({ module: MODULE, tokenLabel: label, pin: "1234" });
});

afterAll(() => {
  token?.close();
  work.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("PKCS#11 signer (SoftHSM2)", () => {
  it.each<[KeyAlgorithm, string]>([
    ["EC-P256", "sha256"],
    ["EC-P384", "sha384"],
    ["RSA-2048", "sha256"],
  ])("generates a %s key on the token whose signatures OpenSSL verifies", async (algorithm, digest) => {
    const { ref, signer } = await token.generateKey(algorithm, `unit-${algorithm}`);
    expect(ref.token).toBe(label);
    expect(ref.id).toHaveLength(16);
    const data = Buffer.from(`to be signed by ${algorithm}`);
    const signature = await signer.sign(data);
    work.file("data.bin", data);
    work.file("sig.bin", signature);
    work.file("pub.pem", toPem(await exportSpki(signer.publicKey), "PUBLIC KEY"));
    expect(work.ok(["dgst", `-${digest}`, "-verify", "pub.pem", "-signature", "sig.bin", "data.bin"])).toContain("Verified OK");
    // A changed message does not verify: the signature is over these bytes.
    work.file("data.bin", Buffer.from("something else"));
    expect(work.run(["dgst", `-${digest}`, "-verify", "pub.pem", "-signature", "sig.bin", "data.bin"]).status).not.toBe(0);
  });

  it("finds a key again by its reference, and refuses unknown or ambiguous ones", async () => {
    const { ref, signer } = await token.generateKey("EC-P256", "unit-twice");
    await token.generateKey("EC-P256", "unit-twice");
    const again = await token.signer(parseKeyRef(formatKeyRef(ref)), "EC-P256", signer.publicKey);
    expect(await again.sign(new Uint8Array([1, 2, 3]))).toBeInstanceOf(Uint8Array);
    await expect(token.findPrivateKey({ label: "unit-twice" })).rejects.toMatchObject({ code: "KEY_NOT_FOUND", message: expect.stringContaining("More than one") });
    await expect(token.findPrivateKey({ label: "no-such-key" })).rejects.toMatchObject({ code: "KEY_NOT_FOUND" });
    await expect(token.signer({ ...ref, token: "other-token" }, "EC-P256", signer.publicKey)).rejects.toMatchObject({ code: "KEY_NOT_FOUND" });
    await token.destroyKey(ref);
    await expect(token.findPrivateKey(ref)).rejects.toMatchObject({ code: "KEY_NOT_FOUND" });
  });

  it("writes and reads RFC 7512 key references, and rejects malformed ones", () => {
    const ref = { token: "My Token", label: "a;b=c", id: new Uint8Array([0x00, 0x31, 0xff]) };
    const uri = formatKeyRef(ref);
    expect(uri).toBe("pkcs11:token=My%20Token;object=a%3bb%3dc;id=%00%31%ff");
    expect(parseKeyRef(uri)).toEqual(ref);
    expect(() => parseKeyRef("file:/x")).toThrow(/not a PKCS#11 URI/);
    expect(() => parseKeyRef("pkcs11:token=x")).toThrow(/neither an object label nor an id/);
    expect(() => parseKeyRef("pkcs11:id=%zz")).toThrow(/percent-encoded/);
  });

  it("a lost token fails with TOKEN_UNAVAILABLE and signs again once it is back", async () => {
    const { signer } = await token.generateKey("EC-P256", "unit-lost");
    await signer.sign(new Uint8Array([1]));
    renameSync(tokens, `${tokens}.away`);
    try {
      await expect(signer.sign(new Uint8Array([2]))).rejects.toMatchObject({ name: "PkiError", code: "TOKEN_UNAVAILABLE" });
      expect(token.unavailableReason).not.toBeNull();
      // Within the reconnect pause the answer comes at once, without touching the token.
      await expect(signer.sign(new Uint8Array([3]))).rejects.toMatchObject({ code: "TOKEN_UNAVAILABLE" });
    } finally {
      renameSync(`${tokens}.away`, tokens);
    }
    await new Promise((r) => setTimeout(r, 2_100));
    const signature = await signer.sign(new Uint8Array([4]));
    expect(signature[0]).toBe(0x30); // DER ECDSA-Sig-Value
    expect(token.unavailableReason).toBeNull();
  });

  it("a wrong PIN is refused with TOKEN_PIN_INCORRECT; a missing token or module with TOKEN_UNAVAILABLE", () => {
    expect(wrongPin).toMatchObject({ name: "PkiError", code: "TOKEN_PIN_INCORRECT", message: expect.stringContaining("wrong PIN") });
    expect(() => Pkcs11Token.open({ module: MODULE, tokenLabel: "absent", pin: "1234" })).toThrow(expect.objectContaining({ code: "TOKEN_UNAVAILABLE", message: expect.stringContaining('no token "absent"') }));
    expect(() => Pkcs11Token.open({ module: "/nonexistent/lib.so", tokenLabel: label, pin: "1234" })).toThrow(expect.objectContaining({ code: "TOKEN_UNAVAILABLE" }));
    expect(() => Pkcs11Token.open({ module: MODULE, pin: "1234" })).toThrow(/token label or a slot/);
    // The failed opens above did not disturb the working connection (one module per process).
    return expect(token.findPrivateKey({ label: "unit-EC-P256" })).resolves.toBeDefined();
  });

  it("signs concurrently over its session pool", async () => {
    const { signer } = await token.generateKey("EC-P256", "unit-pool");
    const signatures = await Promise.all(Array.from({ length: 64 }, (_, i) => signer.sign(new Uint8Array([i]))));
    expect(new Set(signatures.map((s) => Buffer.from(s).toString("hex"))).size).toBe(64);
  });
});
