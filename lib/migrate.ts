// Applies (and, for developers, creates) Prisma migrations without Prisma's native schema engine,
// which cannot be downloaded on our machines: @prisma/schema-engine-wasm is driven through the
// same driver adapters the app uses. It writes the same `_prisma_migrations` table as Prisma
// Migrate. SQL is provider-specific, so each provider has its own history under
// prisma/migrations/<provider>/; the schema is written for sqlite and the provider line is
// swapped in memory for PostgreSQL.
import { readFile, readdir, mkdir, writeFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { providerOf, type Provider } from "./db-url";

/* eslint-disable @typescript-eslint/no-explicit-any -- the wasm engine and adapter internals are untyped */

const require = createRequire(import.meta.url);
const ROOT = process.cwd();
const SCHEMA_PATH = path.join(ROOT, "prisma/schema.prisma");

function adapterFactoryFor(url: string) {
  return providerOf(url) === "postgresql"
    ? new PrismaPg({ connectionString: url })
    : new PrismaBetterSqlite3({ url });
}

// The wasm engine reports Rust panics through this global, as the Prisma CLI sets it up.
(globalThis as any).PRISMA_WASM_PANIC_REGISTRY ??= {
  message: "",
  set_message(m: string) {
    this.message = `RuntimeError: ${m}`;
  },
};

let enginePromise: Promise<any> | undefined;

// The package entry does `import * as wasm from "./x.wasm"`, which Node cannot load without
// --experimental-wasm-modules, so the module is instantiated by hand.
async function loadWasmEngine() {
  enginePromise ??= (async () => {
    const glue: any = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const wasmPath = path.join(path.dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg")), "schema_engine_bg.wasm");
    const wasmModule = new WebAssembly.Module(await readFile(wasmPath));
    const instance = new WebAssembly.Instance(wasmModule, { "./schema_engine_bg.js": glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports as any).__wbindgen_start();
    return glue;
  })();
  return enginePromise;
}

async function schemaFor(provider: Provider) {
  const content = (await readFile(SCHEMA_PATH, "utf8")).replace(/provider\s*=\s*"sqlite"/, `provider = "${provider}"`);
  return { files: [{ path: SCHEMA_PATH, content }] };
}

async function migrationsList(provider: Provider) {
  const baseDir = path.join(ROOT, "prisma/migrations", provider);
  await mkdir(baseDir, { recursive: true });
  const lockContent = await readFile(path.join(baseDir, "migration_lock.toml"), "utf8").catch(() => null);
  const names = (await readdir(baseDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const migrationDirectories = [];
  for (const name of names) {
    const content = await readFile(path.join(baseDir, name, "migration.sql"), "utf8").then(
      (value) => ({ tag: "ok" as const, value }),
      (e) => ({ tag: "error" as const, value: String(e) }),
    );
    migrationDirectories.push({ path: name, migrationFile: { path: "migration.sql", content } });
  }
  return { baseDir, lockfile: { path: "migration_lock.toml", content: lockContent }, shadowDbInitScript: "", migrationDirectories };
}

/**
 * @prisma/adapter-pg 7 cannot map PostgreSQL's internal `"char"` type (OID 18), which the engine's
 * catalog queries return (pg_class.relkind, …): report such columns as TEXT (OID 25).
 */
function patchPgCharColumns(adapter: any) {
  if (adapter?.provider !== "postgres") return;
  let proto = Object.getPrototypeOf(adapter);
  while (proto && !Object.hasOwn(proto, "performIO")) proto = Object.getPrototypeOf(proto);
  if (!proto || proto.__certfleetCharPatch) return;
  const original = proto.performIO;
  proto.performIO = async function (this: unknown, query: unknown) {
    const result = await original.call(this, query);
    for (const field of result?.fields ?? []) if (field.dataTypeID === 18) field.dataTypeID = 25;
    return result;
  };
  proto.__certfleetCharPatch = true;
}

/**
 * The engine replays migration scripts on the shadow database with executeRaw, and
 * better-sqlite3 refuses multi-statement SQL there: fall back to executeScript.
 */
function patchMultiStatementExecuteRaw(adapter: any) {
  const original = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query: { sql: string; args: unknown[] }) => {
    try {
      return await original(query);
    } catch (e: any) {
      if (query.args.length === 0 && /more than one statement/.test(String(e?.message))) {
        await adapter.executeScript(query.sql);
        return 0;
      }
      throw e;
    }
  };
}

/**
 * PrismaPg's own shadow connection passes { connectionString, database } and node-postgres lets
 * connectionString win, so the "shadow" database silently is the MAIN one — replaying the history
 * there can damage data. Create and drop a real, uniquely named shadow database instead.
 */
async function pgShadowDb(url: string) {
  const pg = (await import("pg")).default;
  const name = `certfleet_shadow_${randomUUID().replace(/-/g, "")}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const shadowUrl = new URL(url);
  shadowUrl.pathname = `/${name}`;
  const shadow: any = await new PrismaPg({ connectionString: shadowUrl.toString() }).connect();
  const dispose = shadow.dispose.bind(shadow);
  let disposed = false;
  shadow.dispose = async () => {
    if (disposed) return;
    disposed = true;
    await dispose();
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  return shadow;
}

const filters = { externalTables: [] as string[], externalEnums: [] as string[] };

async function withEngine<T>(url: string, fn: (engine: any, provider: Provider) => Promise<T>): Promise<T> {
  const provider = providerOf(url);
  const { SchemaEngine } = await loadWasmEngine();
  const factory: any = adapterFactoryFor(url);
  if (provider === "postgresql") factory.connectToShadowDb = () => pgShadowDb(url);
  // engine.free() does not close the connections the engine opened; a SQLite handle left open
  // makes the next engine fail with SQLITE_BUSY. Track and dispose them.
  const opened: { dispose(): Promise<void> }[] = [];
  for (const method of ["connect", "connectToShadowDb"] as const) {
    const original = factory[method].bind(factory);
    factory[method] = async () => {
      const adapter = await original();
      opened.push(adapter);
      patchPgCharColumns(adapter);
      patchMultiStatementExecuteRaw(adapter);
      return adapter;
    };
  }
  const schema = await schemaFor(provider);
  const engine = await SchemaEngine.new(
    { datamodels: schema.files.map((f) => [f.path, f.content]) },
    (message: string) => {
      if (process.env.MIGRATE_DEBUG) console.error("[schema-engine]", message);
    },
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  try {
    return await fn(engine, provider);
  } finally {
    engine.free();
    for (const adapter of opened) await adapter.dispose().catch(() => undefined);
  }
}

/** Applies pending migrations; returns the names applied. Idempotent. */
export async function deployMigrations(url: string): Promise<string[]> {
  return withEngine(url, async (engine, provider) => {
    const out = await engine.applyMigrations({ migrationsList: await migrationsList(provider), filters });
    return out.appliedMigrationNames as string[];
  });
}

/** Developer command: diff the schema against the history and write a new migration. */
export async function createMigration(url: string, name: string): Promise<string | null> {
  return withEngine(url, async (engine, provider) => {
    const list = await migrationsList(provider);
    // Same order as `prisma migrate dev`: bring the dev database up to date (creating
    // _prisma_migrations), let devDiagnostic replay the history on a shadow database, then diff.
    await engine.applyMigrations({ migrationsList: list, filters });
    const diagnostic = await engine.devDiagnostic({ migrationsList: list, filters });
    if (diagnostic.action.tag === "reset") throw new Error(`[${provider}] database drift, reset needed: ${diagnostic.action.reason}`);
    const out = await engine.createMigration({ draft: false, migrationName: name, migrationsList: list, schema: await schemaFor(provider), filters });
    if (!out.migrationScript) return null;
    const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
    const dir = path.join(list.baseDir, `${stamp}_${name}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "migration.sql"), out.migrationScript);
    const lockPath = path.join(list.baseDir, "migration_lock.toml");
    if (!(await stat(lockPath).catch(() => null))) {
      await writeFile(lockPath, `# Please do not edit this file manually\nprovider = "${out.connectorType ?? provider}"\n`);
    }
    return dir;
  });
}
