// The instance's secrets: the master key (seals CA keys and PSKs) and the session-signing secret.
// From the environment when set, else from files in the data directory that the first start
// creates with mode 0600. Never logged.
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { config } from "./config";
import { DATA_FILES } from "./data-files";

function readOrCreate(file: string, create: () => string): string {
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = create();
  // "wx": never overwrite a file another process created a moment ago.
  try {
    writeFileSync(file, value + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return readFileSync(file, "utf8").trim();
  }
  chmodSync(file, 0o600);
  return value;
}

function decodeMasterKey(b64: string, source: string): Uint8Array {
  const key = Buffer.from(b64, "base64");
  if (key.length !== 32 || key.toString("base64") !== b64.replace(/\s/g, "")) {
    throw new Error(`${source} must be the base64 encoding of exactly 32 bytes`);
  }
  return new Uint8Array(key);
}

let masterKey: Uint8Array | undefined;
let authSecret: string | undefined;

/** The 32-byte master key. Creates data/master.key on first use when CERTFLEET_MASTER_KEY is unset. */
export function getMasterKey(): Uint8Array {
  if (masterKey) return masterKey;
  const { masterKeyEnv, dataDir } = config();
  masterKey = masterKeyEnv
    ? decodeMasterKey(masterKeyEnv.trim(), "CERTFLEET_MASTER_KEY")
    : decodeMasterKey(readOrCreate(path.join(dataDir, DATA_FILES.masterKey), () => randomBytes(32).toString("base64")), "data/master.key");
  return masterKey;
}

/** The secret that signs session JWTs. Creates data/auth.secret on first use when AUTH_SECRET is unset. */
export function getAuthSecret(): string {
  if (authSecret) return authSecret;
  const { authSecretEnv, dataDir } = config();
  authSecret = authSecretEnv ?? readOrCreate(path.join(dataDir, DATA_FILES.authSecret), () => randomBytes(32).toString("base64url"));
  return authSecret;
}

/** For tests that switch configuration inside one process. */
export function resetSecretsForTests() {
  masterKey = undefined;
  authSecret = undefined;
}
