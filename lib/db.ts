// The one Prisma client: SQLite (better-sqlite3 adapter) by default, PostgreSQL (pg adapter) when
// DATABASE_URL says so. Same models, provider-specific query compiler, so two generated clients.
import { PrismaClient } from "./generated/sqlite/client";
import { PrismaClient as PgPrismaClient } from "./generated/postgresql/client";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { config } from "./config";
import { providerOf } from "./db-url";

export type Db = PrismaClient;
export type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

function createClient(url: string): Db {
  if (providerOf(url) === "postgresql") {
    return new PgPrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 10 }) }) as unknown as Db;
  }
  // WAL lets readers (pages, broker endpoints) run while a writer commits; busy_timeout makes
  // concurrent writers wait instead of failing with SQLITE_BUSY.
  return new PrismaClient({ adapter: new PrismaBetterSqlite3({ url, timeout: 10_000 }) });
}

const g = globalThis as unknown as { __certfleetDb?: Db };

/** The process-wide client (cached on globalThis so Next's module reloads share it). */
export function db(): Db {
  return (g.__certfleetDb ??= createClient(config().databaseUrl));
}

export function isPostgres(): boolean {
  return providerOf(config().databaseUrl) === "postgresql";
}

export async function disconnectDb() {
  const client = g.__certfleetDb;
  g.__certfleetDb = undefined;
  await client?.$disconnect();
}
