// How every CertFleet SQLite connection is opened (Prisma's, the direct one, the issuance writer
// thread's), so all of them commit durably.
import Database from "better-sqlite3";

/*
 * A CA must never lose a commit: a certificate that reached the field but not the database can
 * neither be listed nor revoked. In WAL mode synchronous=NORMAL syncs only at checkpoints, so a
 * power cut loses the last commits (an application crash does not); FULL syncs the WAL on every
 * commit. better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1, so every connection
 * opened on a WAL database starts at NORMAL: the setting is per connection and must be made on
 * each one. The issuance group commit pays one sync per batch, not per certificate.
 */
export const SQLITE_CONNECTION_PRAGMAS = "PRAGMA synchronous = FULL;";

/**
 * A direct connection to `file`. busy_timeout 0 by default: better-sqlite3 is synchronous, and
 * waiting for a lock inside a thread would also stop whatever that thread holds.
 */
export function openSqlite(file: string, options: { timeoutMs?: number } = {}): Database.Database {
  const conn = new Database(file, { timeout: options.timeoutMs ?? 0 });
  conn.exec(SQLITE_CONNECTION_PRAGMAS);
  return conn;
}
