// Who may read what CertFleet keeps in its data directory: only the account it runs as. The
// database holds password hashes and sealed CA keys and PSKs, master.key unseals them, and
// auth.secret signs sessions — so every one of them is 0600, also in a directory that existed
// before CertFleet did (mkdir's 0700 then never applied).
import { chmodSync } from "node:fs";
import path from "node:path";
import { providerOf } from "./db-url";

export const DATA_FILES = { masterKey: "master.key", authSecret: "auth.secret", initialAdmin: "initial-admin.txt" } as const;

/** SQLite's companions of a database file; it creates -wal/-shm (and -journal) with the database file's own mode. */
const SQLITE_SUFFIXES = ["", "-wal", "-shm", "-journal"];

/**
 * umask 077 for this process, so files it creates from now on — the SQLite file the migration
 * engine creates, and through it the -wal/-shm files — are 0600 and directories 0700, whatever
 * the umask of the shell that started it. Returns the umask it replaces.
 */
export function restrictNewFiles(): number {
  return process.umask(0o077);
}

/** chmod 0600 on the files of an existing instance, written by a version that left them 0644. */
export function restrictDataFiles(dataDir: string, databaseUrl: string, warn: (line: string) => void = console.warn) {
  const files = Object.values(DATA_FILES).map((name) => path.join(dataDir, name));
  if (providerOf(databaseUrl) === "sqlite") {
    const db = path.resolve(databaseUrl.replace(/^file:/, ""));
    files.push(...SQLITE_SUFFIXES.map((suffix) => db + suffix));
  }
  for (const file of files) {
    try {
      chmodSync(file, 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") warn(`[certfleet] could not restrict ${file} to mode 0600 (${code}): make it readable by this account only`);
    }
  }
}
