// CERTFLEET_PKCS11_*: a half-configured token is refused at start with a message naming what is
// missing, never silently ignored (CA keys would otherwise land in software).
import { describe, expect, it } from "vitest";
import { loadConfig as load } from "../../lib/config";

const loadConfig = (env: Record<string, string>) => load(env as NodeJS.ProcessEnv);

const MODULE = { CERTFLEET_PKCS11_MODULE: "/usr/lib/softhsm/libsofthsm2.so" };

describe("PKCS#11 configuration", () => {
  it("is off without a module", () => {
    expect(loadConfig({}).pkcs11).toBeNull();
  });

  it("takes a token label or slot and a PIN or PIN file", () => {
    expect(loadConfig({ ...MODULE, CERTFLEET_PKCS11_TOKEN_LABEL: "CertFleet", CERTFLEET_PKCS11_PIN: "1234" }).pkcs11).toEqual({ module: MODULE.CERTFLEET_PKCS11_MODULE, tokenLabel: "CertFleet", slot: undefined, pin: "1234", pinFile: undefined });
    expect(loadConfig({ ...MODULE, CERTFLEET_PKCS11_SLOT: "3", CERTFLEET_PKCS11_PIN_FILE: "/run/pin" }).pkcs11).toMatchObject({ slot: 3, pinFile: "/run/pin" });
  });

  it.each([
    [{ CERTFLEET_PKCS11_TOKEN_LABEL: "x", CERTFLEET_PKCS11_PIN: "1" }, /CERTFLEET_PKCS11_MODULE/],
    [{ ...MODULE, CERTFLEET_PKCS11_PIN: "1" }, /exactly one of CERTFLEET_PKCS11_TOKEN_LABEL or CERTFLEET_PKCS11_SLOT/],
    [{ ...MODULE, CERTFLEET_PKCS11_TOKEN_LABEL: "x", CERTFLEET_PKCS11_SLOT: "1", CERTFLEET_PKCS11_PIN: "1" }, /exactly one of CERTFLEET_PKCS11_TOKEN_LABEL or CERTFLEET_PKCS11_SLOT/],
    [{ ...MODULE, CERTFLEET_PKCS11_TOKEN_LABEL: "x" }, /exactly one of CERTFLEET_PKCS11_PIN or CERTFLEET_PKCS11_PIN_FILE/],
    [{ ...MODULE, CERTFLEET_PKCS11_TOKEN_LABEL: "x", CERTFLEET_PKCS11_PIN: "1", CERTFLEET_PKCS11_PIN_FILE: "/f" }, /exactly one of CERTFLEET_PKCS11_PIN or CERTFLEET_PKCS11_PIN_FILE/],
    [{ ...MODULE, CERTFLEET_PKCS11_TOKEN_LABEL: "x", CERTFLEET_PKCS11_PIN: "1", CERTFLEET_PKCS11_SLOT: "-1" }, /CERTFLEET_PKCS11_SLOT/],
  ] as [Record<string, string>, RegExp][])("refuses %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("never puts the PIN into an error message", () => {
    expect(() => loadConfig({ ...MODULE, CERTFLEET_PKCS11_PIN: "secret-pin-42" })).toThrow(expect.objectContaining({ message: expect.not.stringContaining("secret-pin-42") }));
  });
});
