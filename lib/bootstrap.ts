// First start and every start: data directory, migrations, secrets, first admin, CA hierarchy. Idempotent: a second start changes nothing that exists.
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { config } from "./config";
import { providerOf } from "./db-url";
import { deployMigrations } from "./migrate";
import { db, disconnectDb } from "./db";
import { getAuthSecret, getMasterKey } from "./secrets";
import { createUser, countUsers } from "./services/users";
import { SYSTEM_ACTOR } from "./auth/roles";
import { checkTokenCas, ensureCaHierarchy } from "./services/cas";
import { DATA_FILES, restrictDataFiles } from "./data-files";

export interface BootstrapReport {
  appliedMigrations: string[];
  createdAdmin?: { email: string; generatedPassword?: string };
}

export async function bootstrap(log: (line: string) => void = console.log): Promise<BootstrapReport> {
  const cfg = config();
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  // Before the database is opened: SQLite copies the database file's mode onto the -wal/-shm it creates.
  restrictDataFiles(cfg.dataDir, cfg.databaseUrl);
  // The migration engine opens its own connection; an open SQLite handle of ours would make
  // its schema lock fail (SQLITE_BUSY), so release ours first.
  await disconnectDb();
  const appliedMigrations = await deployMigrations(cfg.databaseUrl);
  if (appliedMigrations.length) log(`[certfleet] applied migrations: ${appliedMigrations.join(", ")}`);
  if (providerOf(cfg.databaseUrl) === "sqlite") {
    // WAL: readers are not blocked by a writer. Persistent in the file; commits stay durable
    // because every connection runs with synchronous=FULL (lib/sqlite.ts).
    await db().$queryRawUnsafe("PRAGMA journal_mode=WAL");
  }
  getMasterKey();
  getAuthSecret();
  const report: BootstrapReport = { appliedMigrations };
  if ((await countUsers()) === 0) report.createdAdmin = await createFirstAdmin(log);
  await ensureCaHierarchy(log);
  await checkTokenCas();
  return report;
}

async function createFirstAdmin(log: (line: string) => void) {
  const cfg = config();
  const email = cfg.adminEmail ?? "admin@certfleet.local";
  const user = await createUser(SYSTEM_ACTOR, { email, role: "admin", password: cfg.adminPassword });
  if (user.generatedPassword) {
    const file = path.join(cfg.dataDir, DATA_FILES.initialAdmin);
    if (!existsSync(file)) {
      writeFileSync(file, `email: ${email}\npassword: ${user.generatedPassword}\n`, { mode: 0o600 });
    }
    // Printed once, on the start that created the account (never again: the file is the copy).
    log(`[certfleet] first admin created: ${email} / ${user.generatedPassword}  (also in ${file}; change it after signing in)`);
  } else {
    log(`[certfleet] first admin created: ${email} (password from CERTFLEET_ADMIN_PASSWORD)`);
  }
  return { email, generatedPassword: user.generatedPassword };
}
