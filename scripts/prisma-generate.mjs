// Generates one Prisma client per provider from the canonical (sqlite) schema.
//   prisma/schema.prisma             -> lib/generated/sqlite      (written for sqlite)
//   prisma/postgresql/schema.prisma  -> lib/generated/postgresql  (derived here, git-ignored)
// A client generated for sqlite refuses the pg adapter, so both are generated and
// lib/db.ts picks one at runtime from DATABASE_URL.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";

if (!existsSync("prisma/schema.prisma")) process.exit(0);
const src = readFileSync("prisma/schema.prisma", "utf8");
const pg = src
  .replace(/provider\s*=\s*"sqlite"/, 'provider = "postgresql"')
  .replace(/output\s*=\s*"\.\.\/lib\/generated\/sqlite"/, 'output   = "../../lib/generated/postgresql"');
if (pg === src || !pg.includes("generated/postgresql")) throw new Error("schema rewrite failed");
mkdirSync("prisma/postgresql", { recursive: true });
writeFileSync("prisma/postgresql/schema.prisma", "// GENERATED from prisma/schema.prisma by scripts/prisma-generate.mjs - do not edit\n" + pg);

// The prisma CLI resolves the native schema engine at startup (a download that
// cannot happen here); `generate` never uses it.
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? "/bin/false", PRISMA_HIDE_UPDATE_MESSAGE: "1" };
for (const schema of ["prisma/schema.prisma", "prisma/postgresql/schema.prisma"]) {
  execFileSync(process.execPath, ["node_modules/prisma/build/index.js", "generate", "--schema", schema], { stdio: "inherit", env });
}
