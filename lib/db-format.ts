// Prisma's storage format for DateTime, for the few writers that bypass Prisma (the issuance
// writer, bench seeding): what they write must read back through Prisma as the same instant.
// Kept free of Prisma so the SQLite writer thread can load it.

/** SQLite: ISO-8601 text with "+00:00" (the better-sqlite3 adapter's default). */
export const sqliteDateTime = (d: Date) => d.toISOString().replace("Z", "+00:00");

/** PostgreSQL TIMESTAMP(3): UTC wall time; ISO text without a zone casts to exactly that. */
export const pgTimestamp = (d: Date) => d.toISOString().slice(0, 23);
