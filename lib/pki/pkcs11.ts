// CA keys in a PKCS#11 token (an HSM, or SoftHSM2 in tests): key generation on the token, and a
// `Signer` whose private key never leaves it. Framework-free: configuration comes in as arguments.
//
// Rules this file keeps:
// - Keys are generated with CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true and CKA_EXTRACTABLE false:
//   the token itself refuses to export them, whatever the application later asks.
// - A wrong PIN is never retried by this process: real HSMs lock the user PIN after a few failures,
//   and a retry loop would turn a typo into a locked token.
// - A lost token (session, device or token errors) marks the connection broken; the next use
//   reconnects (finalize, initialize, log in again, find the keys again), at most once per
//   RECONNECT_MS, and every failure surfaces as PkiError TOKEN_UNAVAILABLE so services answer 503.
import { createHash, createPublicKey, randomBytes } from "node:crypto";
import * as pkcs11Module from "pkcs11js";
import type { Handle, PKCS11, Template } from "pkcs11js";
import type { KeyAlgorithm } from "./algorithms";
import { ALGORITHM_PARAMS } from "./algorithms";
import { PkiError } from "./errors";
import { importPublicKeySpki } from "./keys";
// Through the index: the DER helpers move between lib/pki files, the index keeps the name.
import { ecdsaRawToDer } from "./index";
import type { Signer } from "./signer";

// Under Node's ESM loader (tsx, the server) a CommonJS module's exports assigned in a loop — all
// of pkcs11js's CK* constants — exist only on `default`; vitest's loader puts them on the namespace.
const pkcs11js: typeof pkcs11Module = (pkcs11Module as unknown as { default?: typeof pkcs11Module }).default ?? pkcs11Module;

export interface Pkcs11Options {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** The token, by label (preferred: slot numbers change when tokens are added) … */
  tokenLabel?: string;
  /** … or by slot id. */
  slot?: number;
  pin: string;
  /** Sessions opened for signing; each runs one signature at a time. */
  sessions?: number;
}

/** Where a key lives: an RFC 7512 PKCS#11 URI subset (token, object label, id). */
export interface Pkcs11KeyRef {
  token?: string;
  label?: string;
  id?: Uint8Array;
}

const DEFAULT_SESSIONS = 2;
const RECONNECT_MS = 2_000;

const CURVE_PARAMS: Partial<Record<KeyAlgorithm, { oidDer: Buffer<ArrayBuffer>; crv: string; bytes: number }>> = {
  "EC-P256": { oidDer: Buffer.from("06082a8648ce3d030107", "hex"), crv: "P-256", bytes: 32 },
  "EC-P384": { oidDer: Buffer.from("06052b81040022", "hex"), crv: "P-384", bytes: 48 },
};
const RSA_BITS: Partial<Record<KeyAlgorithm, number>> = { "RSA-2048": 2048, "RSA-3072": 3072, "RSA-4096": 4096 };

// Return values that mean "the token, the device or our sessions are gone" (PKCS#11 2.40 §5.1).
const LOST = new Set([
  0x05, // CKR_GENERAL_ERROR (SoftHSM's answer once its token files are gone)
  0x30, // CKR_DEVICE_ERROR
  0x31, // CKR_DEVICE_MEMORY
  0x32, // CKR_DEVICE_REMOVED
  0x60, // CKR_KEY_HANDLE_INVALID
  0x82, // CKR_OBJECT_HANDLE_INVALID
  0xb0, // CKR_SESSION_CLOSED
  0xb3, // CKR_SESSION_HANDLE_INVALID
  0xe0, // CKR_TOKEN_NOT_PRESENT
  0xe1, // CKR_TOKEN_NOT_RECOGNIZED
  0x101, // CKR_USER_NOT_LOGGED_IN
  0x190, // CKR_CRYPTOKI_NOT_INITIALIZED
]);
const CKR_PIN_INCORRECT = 0xa0;
const CKR_PIN_LOCKED = 0xa4;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;
const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;

const pkcs11Code = (e: unknown): number | null => (e instanceof pkcs11js.Pkcs11Error ? e.code : null);
const describeError = (e: unknown) => (e instanceof Error ? e.message : String(e));

// One module instance per path and process: C_Initialize is process-wide. `epoch` counts
// re-initializations, so of several tokens on one module that lose their sessions together only
// the first to reconnect finalizes (the others would otherwise finalize each other in turn).
interface LoadedModule {
  lib: PKCS11;
  initialized: boolean;
  epoch: number;
}
const modules = new Map<string, LoadedModule>();

/**
 * A logged-in connection to one token, with a small pool of sessions. Object handles are valid in
 * every session of the application (PKCS#11 §5.7), so a key found once signs in any of them.
 */
export class Pkcs11Token {
  #module: LoadedModule;
  #epoch = -1;
  #slot: Handle | null = null;
  #free: Handle[] = [];
  #all: Handle[] = [];
  #waiting: ((session: Handle) => void)[] = [];
  #broken: string | null = "not connected";
  #pinRefused: string | null = null;
  #lastAttempt = 0;
  /** Bumped on every reconnect: handles found under an older generation are stale. */
  generation = 0;
  #label = "";

  private constructor(readonly options: Pkcs11Options) {
    let loaded = modules.get(options.module);
    if (!loaded) {
      const lib = new pkcs11js.PKCS11();
      try {
        lib.load(options.module);
      } catch (e) {
        throw new PkiError("TOKEN_UNAVAILABLE", `Cannot load the PKCS#11 module ${options.module}: ${describeError(e)}`);
      }
      loaded = { lib, initialized: false, epoch: 0 };
      modules.set(options.module, loaded);
    }
    this.#module = loaded;
  }

  get #lib(): PKCS11 {
    return this.#module.lib;
  }

  /** Loads the module, finds the token and logs in; throws PkiError TOKEN_UNAVAILABLE or TOKEN_PIN_INCORRECT. */
  static open(options: Pkcs11Options): Pkcs11Token {
    const token = Pkcs11Token.create(options);
    token.#connect();
    return token;
  }

  /** Loads the module only; the first use connects (and a token that is missing now is found later). */
  static create(options: Pkcs11Options): Pkcs11Token {
    if (options.tokenLabel === undefined && options.slot === undefined) {
      throw new PkiError("INVALID_INPUT", "A PKCS#11 token needs a token label or a slot.");
    }
    return new Pkcs11Token(options);
  }

  /** The token's label (blank padding removed). */
  get label(): string {
    return this.#label;
  }

  /** Why the token cannot be used right now, or null when it is connected. */
  get unavailableReason(): string | null {
    return this.#pinRefused ?? this.#broken;
  }

  #connect(): void {
    if (this.#pinRefused) throw new PkiError("TOKEN_PIN_INCORRECT", this.#pinRefused);
    this.#lastAttempt = Date.now();
    const lib = this.#lib;
    try {
      this.#closeSessions();
      const mod = this.#module;
      // After a loss, a fresh initialize makes the module look at its slots again (a token plugged
      // back in) — unless another token on this module already did so since we last connected.
      if (mod.initialized && this.#epoch === mod.epoch) {
        try {
          lib.C_Finalize();
        } catch {
          // already finalized
        }
        mod.initialized = false;
        mod.epoch++;
      }
      if (!mod.initialized) {
        try {
          lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
        } catch (e) {
          if (pkcs11Code(e) !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
        }
        mod.initialized = true;
      }
      this.#epoch = mod.epoch;
      this.#slot = this.#findSlot();
      const n = Math.max(1, this.options.sessions ?? DEFAULT_SESSIONS);
      for (let i = 0; i < n; i++) {
        const session = lib.C_OpenSession(this.#slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
        this.#all.push(session);
      }
      try {
        // Login is per application and token: every session is logged in by this one call.
        lib.C_Login(this.#all[0], pkcs11js.CKU_USER, this.options.pin);
      } catch (e) {
        const code = pkcs11Code(e);
        if (code === CKR_PIN_INCORRECT || code === CKR_PIN_LOCKED) {
          this.#pinRefused = `The PKCS#11 PIN for token "${this.#label}" was refused (${code === CKR_PIN_LOCKED ? "PIN locked" : "wrong PIN"}); fix CERTFLEET_PKCS11_PIN and restart. It is not retried: tokens lock after repeated wrong PINs.`;
          this.#closeSessions();
          throw new PkiError("TOKEN_PIN_INCORRECT", this.#pinRefused);
        }
        if (code !== CKR_USER_ALREADY_LOGGED_IN) throw e;
      }
      this.#free = [...this.#all];
      this.#broken = null;
      this.generation++;
    } catch (e) {
      if (e instanceof PkiError) throw e;
      this.#markBroken(e);
      throw new PkiError("TOKEN_UNAVAILABLE", `PKCS#11 token ${this.#tokenName()} is unavailable: ${describeError(e)}`);
    }
  }

  #tokenName(): string {
    return this.options.tokenLabel !== undefined ? `"${this.options.tokenLabel}"` : `in slot ${this.options.slot}`;
  }

  #findSlot(): Handle {
    const lib = this.#lib;
    for (const slot of lib.C_GetSlotList(true)) {
      const info = lib.C_GetTokenInfo(slot);
      const label = info.label.trim();
      const matches = this.options.tokenLabel !== undefined ? label === this.options.tokenLabel : slot.readUIntLE(0, Math.min(6, slot.length)) === this.options.slot;
      if (matches) {
        this.#label = label;
        return slot;
      }
    }
    throw new Error(`no token ${this.#tokenName()} in module ${this.options.module}`);
  }

  #closeSessions() {
    for (const s of this.#all) {
      try {
        this.#lib.C_CloseSession(s);
      } catch {
        // already gone with the token
      }
    }
    this.#all = [];
    this.#free = [];
  }

  #markBroken(e: unknown) {
    this.#broken = describeError(e);
    this.#closeSessions();
    // Waiters get no session from a broken pool: wake them so they fail (and may reconnect).
    for (const wake of this.#waiting.splice(0)) wake(Buffer.alloc(0));
  }

  /** Reconnects when broken (throttled); throws TOKEN_UNAVAILABLE while it cannot. */
  ensureConnected(): void {
    if (this.#pinRefused) throw new PkiError("TOKEN_PIN_INCORRECT", this.#pinRefused);
    if (this.#broken === null) return;
    if (Date.now() - this.#lastAttempt < RECONNECT_MS) {
      throw new PkiError("TOKEN_UNAVAILABLE", `PKCS#11 token ${this.#tokenName()} is unavailable: ${this.#broken}`);
    }
    this.#connect();
  }

  /** Runs `fn` on a session of the pool; token-loss errors become TOKEN_UNAVAILABLE. */
  async withSession<T>(fn: (lib: PKCS11, session: Handle) => Promise<T> | T): Promise<T> {
    this.ensureConnected();
    const generation = this.generation;
    const session = this.#free.pop() ?? (await new Promise<Handle>((resolve) => this.#waiting.push(resolve)));
    if (session.length === 0 || generation !== this.generation) {
      throw new PkiError("TOKEN_UNAVAILABLE", `PKCS#11 token ${this.#tokenName()} is unavailable: ${this.#broken ?? "reconnected"}`);
    }
    let lost = false;
    try {
      return await fn(this.#lib, session);
    } catch (e) {
      const code = pkcs11Code(e);
      if (code !== null && LOST.has(code)) {
        lost = true;
        if (generation === this.generation) this.#markBroken(e);
        throw new PkiError("TOKEN_UNAVAILABLE", `PKCS#11 token ${this.#tokenName()} is unavailable: ${describeError(e)}`);
      }
      throw e;
    } finally {
      if (!lost && generation === this.generation) {
        const next = this.#waiting.shift();
        if (next) next(session);
        else this.#free.push(session);
      }
    }
  }

  /**
   * Generates a key pair on the token for `algorithm`, labelled `label`, with a fresh random
   * CKA_ID; the private key is sensitive and never extractable.
   */
  async generateKey(algorithm: KeyAlgorithm, label: string): Promise<{ ref: Pkcs11KeyRef; signer: Pkcs11Signer }> {
    const id = randomBytes(16);
    const common = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: id },
    ];
    const priv = [
      ...common,
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_SIGN, value: true },
      // A CA key signs and does nothing else (tokens default some of these to true).
      { type: pkcs11js.CKA_DECRYPT, value: false },
      { type: pkcs11js.CKA_UNWRAP, value: false },
      { type: pkcs11js.CKA_DERIVE, value: false },
    ];
    const curve = CURVE_PARAMS[algorithm];
    const bits = RSA_BITS[algorithm];
    const pub: Template = [...common, { type: pkcs11js.CKA_PRIVATE, value: false }, { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_ENCRYPT, value: false }, { type: pkcs11js.CKA_WRAP, value: false }];
    if (curve) pub.push({ type: pkcs11js.CKA_EC_PARAMS, value: curve.oidDer });
    else if (bits) {
      pub.push({ type: pkcs11js.CKA_MODULUS_BITS, value: bits });
      pub.push({ type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
    } else throw new PkiError("INVALID_INPUT", `Unknown key algorithm "${String(algorithm)}".`);
    const mechanism = { mechanism: curve ? pkcs11js.CKM_EC_KEY_PAIR_GEN : pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN };
    const ref: Pkcs11KeyRef = { token: this.#label, label, id: new Uint8Array(id) };
    const publicKey = await this.withSession(async (lib, session) => {
      const keys = await lib.C_GenerateKeyPairAsync(session, mechanism, pub, priv);
      return readPublicKey(lib, session, keys.publicKey, algorithm);
    });
    return { ref, signer: await this.signer(ref, algorithm, publicKey) };
  }

  /** A signer over an existing private key; `publicKey` comes from its certificate (or generation). */
  async signer(ref: Pkcs11KeyRef, algorithm: KeyAlgorithm, publicKey: CryptoKey): Promise<Pkcs11Signer> {
    if (ref.token !== undefined && this.#label && ref.token !== this.#label) {
      throw new PkiError("KEY_NOT_FOUND", `The key ${formatKeyRef(ref)} is on token "${ref.token}", but the configured token is "${this.#label}".`);
    }
    const signer = new Pkcs11Signer(this, ref, algorithm, publicKey);
    await signer.resolve();
    return signer;
  }

  /** The private key's handle (exactly one object must match the reference). */
  async findPrivateKey(ref: Pkcs11KeyRef): Promise<Handle> {
    if (!ref.label && !ref.id) throw new PkiError("INVALID_INPUT", "A PKCS#11 key reference needs a label or an id.");
    return this.withSession((lib, session) => {
      const template: Template = [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }];
      if (ref.label) template.push({ type: pkcs11js.CKA_LABEL, value: ref.label });
      if (ref.id) template.push({ type: pkcs11js.CKA_ID, value: Buffer.from(ref.id) });
      lib.C_FindObjectsInit(session, template);
      let found: Handle[];
      try {
        found = lib.C_FindObjects(session, 2);
      } finally {
        lib.C_FindObjectsFinal(session);
      }
      if (found.length === 0) throw new PkiError("KEY_NOT_FOUND", `No private key ${formatKeyRef(ref)} on token "${this.#label}".`);
      if (found.length > 1) throw new PkiError("KEY_NOT_FOUND", `More than one private key matches ${formatKeyRef(ref)} on token "${this.#label}"; name it by id too.`);
      return found[0];
    });
  }

  /** Removes a key pair this process generated and could not record (so nothing is left half-made). */
  async destroyKey(ref: Pkcs11KeyRef): Promise<void> {
    if (!ref.id) return;
    await this.withSession((lib, session) => {
      for (const cls of [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_PUBLIC_KEY]) {
        lib.C_FindObjectsInit(session, [
          { type: pkcs11js.CKA_CLASS, value: cls },
          { type: pkcs11js.CKA_ID, value: Buffer.from(ref.id!) },
        ]);
        let found: Handle[];
        try {
          found = lib.C_FindObjects(session, 4);
        } finally {
          lib.C_FindObjectsFinal(session);
        }
        for (const h of found) lib.C_DestroyObject(session, h);
      }
    });
  }

  /** Logs out and closes the sessions (the module stays loaded for a later open). */
  close(): void {
    if (this.#all.length) {
      try {
        this.#lib.C_Logout(this.#all[0]);
      } catch {
        // token already gone
      }
    }
    this.#closeSessions();
    this.#broken = "closed";
  }
}

/**
 * Signs with a private key on the token. ECDSA: the digest is computed here and the token signs it
 * with CKM_ECDSA (r||s, re-encoded to DER) — tokens differ in which hash-and-sign mechanisms they
 * offer, all offer CKM_ECDSA. RSA: CKM_SHA256_RSA_PKCS over the data.
 */
export class Pkcs11Signer implements Signer {
  readonly signatureOid: string;
  #handle: Handle | null = null;
  #generation = -1;
  readonly #hash: string;
  readonly #coordinateBytes: number;

  constructor(
    readonly token: Pkcs11Token,
    readonly ref: Pkcs11KeyRef,
    readonly algorithm: KeyAlgorithm,
    readonly publicKey: CryptoKey,
  ) {
    const params = ALGORITHM_PARAMS[algorithm];
    this.signatureOid = params.signatureOid;
    this.#hash = params.hash.replace("-", "").toLowerCase();
    this.#coordinateBytes = CURVE_PARAMS[algorithm]?.bytes ?? 0;
    if (!this.#coordinateBytes && params.hash !== "SHA-256") throw new PkiError("INVALID_INPUT", `No PKCS#11 mechanism for ${algorithm}.`);
  }

  /** Finds the key handle (again after a reconnect). */
  async resolve(): Promise<Handle> {
    // Reconnect first: a handle from before a reconnect is stale even if it looks current.
    this.token.ensureConnected();
    if (this.#handle && this.#generation === this.token.generation) return this.#handle;
    const generation = this.token.generation;
    this.#handle = await this.token.findPrivateKey(this.ref);
    this.#generation = generation;
    return this.#handle;
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const key = await this.resolve();
    const ec = this.#coordinateBytes > 0;
    const input = ec ? createHash(this.#hash).update(data).digest() : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const mechanism = { mechanism: ec ? pkcs11js.CKM_ECDSA : pkcs11js.CKM_SHA256_RSA_PKCS };
    const signature = await this.token.withSession(async (lib, session) => {
      lib.C_SignInit(session, mechanism, key);
      return lib.C_SignAsync(session, input, Buffer.alloc(ec ? this.#coordinateBytes * 2 : 512));
    });
    return ec ? ecdsaRawToDer(new Uint8Array(signature)) : new Uint8Array(signature);
  }
}

async function readPublicKey(lib: PKCS11, session: Handle, handle: Handle, algorithm: KeyAlgorithm): Promise<CryptoKey> {
  const curve = CURVE_PARAMS[algorithm];
  let jwk: Record<string, string>;
  if (curve) {
    const [attr] = lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_EC_POINT }]);
    let point = attr.value as Buffer;
    // PKCS#11 2.40 says DER OCTET STRING around the point; some tokens return the bare point.
    if (point[0] === 0x04 && point.length === curve.bytes * 2 + 3 && point[1] === curve.bytes * 2 + 1) point = point.subarray(2);
    if (point[0] !== 0x04 || point.length !== curve.bytes * 2 + 1) throw new PkiError("INVALID_INPUT", "The token returned an EC point this signer cannot read.");
    jwk = {
      kty: "EC",
      crv: curve.crv,
      x: point.subarray(1, 1 + curve.bytes).toString("base64url"),
      y: point.subarray(1 + curve.bytes).toString("base64url"),
    };
  } else {
    const [n, e] = lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
    jwk = { kty: "RSA", n: (n.value as Buffer).toString("base64url"), e: (e.value as Buffer).toString("base64url") };
  }
  const spki = createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "der" });
  return importPublicKeySpki(algorithm, new Uint8Array(spki));
}

const pct = (bytes: Uint8Array) => Array.from(bytes, (b) => "%" + b.toString(16).padStart(2, "0")).join("");
const pctText = (s: string) => pct(new TextEncoder().encode(s)).replace(/%([0-9a-f]{2})/g, (m, h) => {
  const c = String.fromCharCode(parseInt(h, 16));
  return /[A-Za-z0-9._~-]/.test(c) ? c : m;
});

/** The reference as an RFC 7512 URI, e.g. `pkcs11:token=CertFleet;object=certfleet-root;id=%01%02`. */
export function formatKeyRef(ref: Pkcs11KeyRef): string {
  const parts: string[] = [];
  if (ref.token !== undefined) parts.push(`token=${pctText(ref.token)}`);
  if (ref.label !== undefined) parts.push(`object=${pctText(ref.label)}`);
  if (ref.id !== undefined) parts.push(`id=${pct(ref.id)}`);
  return `pkcs11:${parts.join(";")}`;
}

function pctDecode(value: string): Uint8Array | null {
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== "%") {
      const code = value.charCodeAt(i);
      if (code > 0x7e) return null;
      out.push(code);
      continue;
    }
    const hex = value.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
    out.push(parseInt(hex, 16));
    i += 2;
  }
  return Uint8Array.from(out);
}

/** Parses what formatKeyRef writes (and the same attributes from other tools' URIs). */
export function parseKeyRef(uri: string): Pkcs11KeyRef {
  if (typeof uri !== "string" || !uri.startsWith("pkcs11:")) throw new PkiError("INVALID_INPUT", `"${uri}" is not a PKCS#11 URI (pkcs11:token=…;object=…;id=…).`);
  const ref: Pkcs11KeyRef = {};
  const body = uri.slice("pkcs11:".length).split("?")[0];
  for (const part of body.split(";").filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new PkiError("INVALID_INPUT", `PKCS#11 URI attribute "${part}" has no value.`);
    const name = part.slice(0, eq);
    const bytes = pctDecode(part.slice(eq + 1));
    if (!bytes) throw new PkiError("INVALID_INPUT", `PKCS#11 URI attribute "${part}" is not percent-encoded correctly.`);
    if (name === "token") ref.token = new TextDecoder().decode(bytes);
    else if (name === "object") ref.label = new TextDecoder().decode(bytes);
    else if (name === "id") ref.id = bytes;
  }
  if (!ref.label && !ref.id) throw new PkiError("INVALID_INPUT", `PKCS#11 URI "${uri}" names neither an object label nor an id.`);
  return ref;
}
