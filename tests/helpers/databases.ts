// Real databases for tests: a fresh SQLite file, and — when CERTFLEET_TEST_PG_URL is set (as
// .ci/run does) — a freshly created PostgreSQL database, dropped afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";

export type TestProvider = "sqlite" | "postgresql";

/** The providers this run covers: SQLite always, PostgreSQL when a server URL is given. */
export function testProviders(): TestProvider[] {
  return process.env.CERTFLEET_TEST_PG_URL ? ["sqlite", "postgresql"] : ["sqlite"];
}

export interface TestDatabase {
  provider: TestProvider;
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(provider: TestProvider): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "certfleet-test-"));
  if (provider === "sqlite") {
    return { provider, url: `file:${path.join(dataDir, "certfleet.db")}`, dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const adminUrl = process.env.CERTFLEET_TEST_PG_URL!;
  const name = `certfleet_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    provider,
    url: url.toString(),
    dataDir,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
