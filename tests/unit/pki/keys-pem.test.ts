// Keys, PEM helpers and the DER<->raw ECDSA conversion the signer binding relies on.
import { afterAll, describe, expect, it } from "vitest";
import {
  ecdsaDerToRaw,
  ecdsaRawToDer,
  exportPkcs8,
  exportPkcs8Pem,
  exportSpki,
  generateKeyPair,
  importPrivateKeyPkcs8,
  importPublicKeySpki,
  keyAlgorithmOfPublicKey,
  localSigner,
  pemToDer,
  PkiError,
  splitPemBundle,
  toPem,
  type KeyAlgorithm,
} from "@/lib/pki";
import { Workdir } from "../../helpers/openssl";

const wd = new Workdir();
afterAll(() => wd.dispose());

describe("keys", () => {
  it.each<KeyAlgorithm>(["EC-P256", "EC-P384", "RSA-2048"])("%s: PKCS#8 round-trips into a signer OpenSSL agrees with", async (algorithm) => {
    const pair = await generateKeyPair(algorithm);
    const pem = await exportPkcs8Pem(pair.privateKey);
    const keyFile = wd.file(`${algorithm}.key`, pem);
    expect(wd.ok(["pkey", "-in", keyFile, "-pubout"])).toBe(toPem(await exportSpki(pair.publicKey), "PUBLIC KEY"));

    const signer = await localSigner(algorithm, await exportPkcs8(pair.privateKey));
    expect(signer.algorithm).toBe(algorithm);
    expect(Buffer.from(await exportSpki(signer.publicKey)).equals(Buffer.from(await exportSpki(pair.publicKey)))).toBe(true);
    // The signature is in X.509 form: `openssl dgst -verify` takes DER ECDSA / PKCS#1 v1.5 as is.
    const data = new TextEncoder().encode("to be signed");
    wd.file(`${algorithm}.data`, data);
    wd.file(`${algorithm}.sig`, await signer.sign(data));
    wd.file(`${algorithm}.pub`, toPem(await exportSpki(pair.publicKey), "PUBLIC KEY"));
    const hash = algorithm === "EC-P384" ? "-sha384" : "-sha256";
    expect(wd.ok(["dgst", hash, "-verify", `${algorithm}.pub`, "-signature", `${algorithm}.sig`, `${algorithm}.data`])).toContain("Verified OK");
    expect(await keyAlgorithmOfPublicKey(pair.publicKey)).toBe(algorithm);
    expect(await keyAlgorithmOfPublicKey(await exportSpki(pair.publicKey))).toBe(algorithm);
  });

  it("refuses a key of another algorithm than declared", async () => {
    const p384 = await exportPkcs8((await generateKeyPair("EC-P384")).privateKey);
    await expect(localSigner("EC-P256", p384)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(importPrivateKeyPkcs8("RSA-2048", p384)).rejects.toBeInstanceOf(PkiError);
    const rsa = await generateKeyPair("RSA-2048");
    await expect(localSigner("RSA-3072", await exportPkcs8(rsa.privateKey))).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(importPublicKeySpki("RSA-3072", await exportSpki(rsa.publicKey))).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(await importPublicKeySpki("RSA-2048", await exportSpki(rsa.publicKey))).toBeDefined();
  });

  it("the localSigner's private key cannot be exported", async () => {
    const pair = await generateKeyPair("EC-P256");
    const key = await importPrivateKeyPkcs8("EC-P256", await exportPkcs8(pair.privateKey));
    expect(key.extractable).toBe(false);
  });
});

describe("ECDSA signature forms", () => {
  it("converts raw r||s to DER and back, including short and high-bit integers", () => {
    for (const size of [32, 48]) {
      for (const fill of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
        const raw = new Uint8Array(size * 2).fill(fill);
        raw[0] = 0;
        raw[size] = fill; // s keeps its top byte
        raw[size * 2 - 1] = 1; // never all zero
        const der = ecdsaRawToDer(raw);
        expect(Buffer.from(ecdsaDerToRaw(der, size)!).equals(Buffer.from(raw))).toBe(true);
      }
    }
    expect(ecdsaDerToRaw(Uint8Array.from([0x30, 0x03, 0x02, 0x01]), 32)).toBeNull();
    expect(ecdsaDerToRaw(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x81]), 32)).toBeNull(); // negative s
  });
});

describe("pem", () => {
  it("writes 64-column PEM that OpenSSL reads, and reads PEM, DER and bundles", async () => {
    const spki = await exportSpki((await generateKeyPair("EC-P256")).publicKey);
    const pem = toPem(spki, "PUBLIC KEY");
    expect(pem.split("\n").every((line) => line.length <= 64)).toBe(true);
    wd.file("p.pem", pem);
    expect(wd.ok(["pkey", "-pubin", "-in", "p.pem", "-pubout"])).toBe(pem);
    expect(Buffer.from(pemToDer(pem, "PUBLIC KEY")).equals(Buffer.from(spki))).toBe(true);
    expect(Buffer.from(pemToDer(new TextEncoder().encode(`junk before\r\n${pem.replace(/\n/g, "\r\n")}`))).equals(Buffer.from(spki))).toBe(true);
    expect(Buffer.from(pemToDer(spki)).equals(Buffer.from(spki))).toBe(true);
    expect(() => pemToDer(pem, "CERTIFICATE")).toThrow(PkiError);
    expect(() => pemToDer("-----BEGIN X-----\n@@@\n-----END X-----")).toThrow(/base64/);
    const bundle = splitPemBundle(`${toPem(Uint8Array.of(1), "CERTIFICATE")}text\n${toPem(Uint8Array.of(2, 3), "X509 CRL")}`);
    expect(bundle.map((b) => [b.label, [...b.der]])).toEqual([
      ["CERTIFICATE", [1]],
      ["X509 CRL", [2, 3]],
    ]);
  });
});
