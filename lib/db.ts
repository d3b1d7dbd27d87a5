// The one Prisma client: SQLite (better-sqlite3 adapter) by default, PostgreSQL (pg adapter) when
// DATABASE_URL says so. Same models, provider-specific query compiler, so two generated clients.
import { PrismaClient } from "./generated/sqlite/client";
import { PrismaClient as PgPrismaClient } from "./generated/postgresql/client";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import type Database from "better-sqlite3";
import pg from "pg";
import { config } from "./config";
import { providerOf } from "./db-url";
import { openSqlite, SQLITE_CONNECTION_PRAGMAS } from "./sqlite";

export type Db = PrismaClient;
export type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

function createClient(url: string): Db {
  if (providerOf(url) === "postgresql") {
    return new PgPrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 10 }) }) as unknown as Db;
  }
  // WAL lets readers (pages, broker endpoints) run while a writer commits; busy_timeout makes
  // concurrent writers wait instead of failing with SQLITE_BUSY.
  return new PrismaClient({ adapter: new DurableSqliteAdapter({ url, timeout: 10_000 }) });
}

/** Prisma's SQLite adapter with CertFleet's per-connection settings (lib/sqlite.ts: durable commits). */
class DurableSqliteAdapter extends PrismaBetterSqlite3 {
  override async connect() {
    const adapter = await super.connect();
    await adapter.executeScript(SQLITE_CONNECTION_PRAGMAS);
    return adapter;
  }
}

const g = globalThis as unknown as { __certfleetDb?: Db; __certfleetDirect?: { sqlite?: Database.Database; pg?: pg.Pool } };

/** The process-wide client (cached on globalThis so Next's module reloads share it). */
export function db(): Db {
  return (g.__certfleetDb ??= createClient(config().databaseUrl));
}

export function isPostgres(): boolean {
  return providerOf(config().databaseUrl) === "postgresql";
}

export async function disconnectDb() {
  const client = g.__certfleetDb;
  const direct = g.__certfleetDirect;
  g.__certfleetDb = undefined;
  g.__certfleetDirect = undefined;
  await client?.$disconnect();
  direct?.sqlite?.close();
  await direct?.pg?.end();
}

/*
 * Direct driver connections beside Prisma, for the few hot paths only: the issuance group commit
 * (lib/services/issuance-store.ts; on SQLite its writer thread opens its own connection), the
 * device read before signing, and the bearer-token lookup every REST and broker request makes.
 * Measured here: a Prisma 7 statement costs ~0.3 ms of CPU (query compiler + interpreter +
 * re-prepare), a cached better-sqlite3 statement ~0.01 ms, so Prisma bounded issuance at ~400
 * certificates/s whatever the batching. Everything else goes through Prisma. Same database, same
 * schema, same storage format.
 */

/**
 * A second SQLite connection to the same file (reads, and the writer when no thread can start).
 * busy_timeout 0: better-sqlite3 is synchronous, and waiting for a lock inside this thread would
 * also stop the Prisma transaction that holds it; writers retry SQLITE_BUSY asynchronously.
 */
export function sqliteDirect(): Database.Database {
  const direct = (g.__certfleetDirect ??= {});
  // WAL is set on the file by the bootstrap (it is persistent), so readers never wait for this writer.
  return (direct.sqlite ??= openSqlite(config().databaseUrl.replace(/^file:/, "")));
}

/** A small pg pool for the same database (the issuance writer needs one connection at a time). */
export function pgDirect(): pg.Pool {
  const direct = (g.__certfleetDirect ??= {});
  if (!direct.pg) {
    direct.pg = new pg.Pool({ connectionString: config().databaseUrl, max: 2 });
    // An idle connection the server closes (restart, failover, a dropped test database) must not
    // take the process down; the pool opens a new one on the next query.
    direct.pg.on("error", (e) => console.error(`[certfleet] idle database connection closed: ${e.message}`));
  }
  return direct.pg;
}

const SQLITE_RETRIES = 8;

function isSqliteBusy(e: unknown): boolean {
  const err = e as { code?: string; message?: string; meta?: { driverAdapterError?: { message?: string } } };
  return err?.code === "P1008" || /SQLITE_BUSY|database is locked|SocketTimeout/.test(`${err?.message ?? ""} ${err?.meta?.driverAdapterError?.message ?? ""}`);
}

/**
 * An interactive transaction that survives other processes writing the same SQLite file (the
 * CLI while the server runs, two servers in a test). SQLite in WAL mode answers SQLITE_BUSY at
 * once — without waiting — when a transaction that has read must write after another connection
 * committed; Prisma opens deferred transactions, so the cure is to run the whole function again.
 * PostgreSQL serialises with row locks instead and is never retried here.
 */
export async function transaction<T>(fn: (tx: Tx) => Promise<T>, options: { timeout?: number; maxWait?: number } = {}): Promise<T> {
  const opts = { timeout: options.timeout ?? 60_000, maxWait: options.maxWait ?? 30_000 };
  for (let attempt = 0; ; attempt++) {
    try {
      return await db().$transaction(fn, opts);
    } catch (e) {
      if (isPostgres() || attempt >= SQLITE_RETRIES || !isSqliteBusy(e)) throw e;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
    }
  }
}
