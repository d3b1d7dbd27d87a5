// An in-process CertFleet instance for service-level tests: points config at a fresh database and
// data directory, resets the process-wide caches and runs the first-start bootstrap.
import { createTestDatabase, type TestDatabase, type TestProvider } from "./databases";
import { resetConfigForTests } from "@/lib/config";
import { resetSecretsForTests } from "@/lib/secrets";
import { disconnectDb } from "@/lib/db";
import { bootstrap, type BootstrapReport } from "@/lib/bootstrap";

export interface TestInstance extends TestDatabase {
  report: BootstrapReport;
  close(): Promise<void>;
}

export async function startInstance(provider: TestProvider, env: Record<string, string> = {}): Promise<TestInstance> {
  const database = await createTestDatabase(provider);
  await disconnectDb();
  process.env.DATABASE_URL = database.url;
  process.env.CERTFLEET_DATA_DIR = database.dataDir;
  delete process.env.CERTFLEET_MASTER_KEY;
  delete process.env.AUTH_SECRET;
  Object.assign(process.env, env);
  resetConfigForTests();
  resetSecretsForTests();
  const report = await bootstrap(() => undefined);
  return {
    ...database,
    report,
    close: async () => {
      await disconnectDb();
      await database.drop();
    },
  };
}
