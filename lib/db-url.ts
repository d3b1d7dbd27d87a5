// Which database a DATABASE_URL selects. Kept apart from lib/db.ts so the migration runner and
// the CLI can use it without loading a Prisma client.
export type Provider = "sqlite" | "postgresql";

export function providerOf(url: string): Provider {
  if (/^postgres(ql)?:\/\//.test(url)) return "postgresql";
  if (url.startsWith("file:")) return "sqlite";
  throw new Error(`DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL)`);
}
