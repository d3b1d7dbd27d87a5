// Developer command: after editing prisma/schema.prisma, write the next migration for BOTH
// providers (npm run db:migrate:dev -- --name add_thing). Each history is diffed against a
// throwaway database brought up to date first, so your own data is never touched.
// PostgreSQL: PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres) needs CREATEDB.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createMigration } from "../lib/migrate";

const nameIndex = process.argv.indexOf("--name");
const name = nameIndex > 0 ? process.argv[nameIndex + 1] : undefined;
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run db:migrate:dev -- --name <snake_case_change>");
  process.exit(2);
}

const dir = mkdtempSync(path.join(tmpdir(), "certfleet-migrate-"));
try {
  const sqlite = await createMigration(`file:${path.join(dir, "dev.db")}`, name);
  console.log(sqlite ? `sqlite: created ${path.relative(process.cwd(), sqlite)}` : "sqlite: schema unchanged");

  const adminUrl = process.env.PG_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const dbName = `certfleet_migrate_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    const postgres = await createMigration(url.toString(), name);
    console.log(postgres ? `postgresql: created ${path.relative(process.cwd(), postgres)}` : "postgresql: schema unchanged");
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
// The wasm engine leaves an advisory-lock timer pending after PostgreSQL work.
process.exit(0);
