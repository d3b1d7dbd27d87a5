// API tokens for the REST API and brokers: 256-bit random, shown once, stored as SHA-256.
// A slow hash is not needed: the token has full entropy, so the hash cannot be brute-forced.
import { createHash, randomBytes } from "node:crypto";
import type Database from "better-sqlite3";
import { db, isPostgres, pgDirect, sqliteDirect } from "../db";
import { AppError, notFound } from "../errors";
import { authorize, type Actor, type Role, isRole } from "../auth/roles";
import { withAudit } from "./audit";

const TOKEN_PREFIX = "cf_";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function createApiToken(actor: Actor, input: { name: string; role: Role; expiresInDays?: number }) {
  authorize(actor, "tokens:manage");
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null;
  const record = await withAudit(actor, async (tx) => {
    if (await tx.apiToken.findUnique({ where: { name: input.name } })) throw new AppError("CONFLICT", `A token named "${input.name}" already exists`);
    const created = await tx.apiToken.create({
      data: { name: input.name, role: input.role, tokenHash: hashToken(token), prefix: token.slice(0, 8), expiresAt, createdBy: actor.label },
    });
    return {
      result: created,
      audit: { action: "token.create", targetType: "token", targetId: created.id, details: { name: input.name, role: input.role, expiresAt } },
    };
  });
  return { id: record.id, name: record.name, role: record.role, expiresAt: record.expiresAt, token };
}

export async function revokeApiToken(actor: Actor, by: { name?: string; id?: string }) {
  authorize(actor, "tokens:manage");
  return withAudit(actor, async (tx) => {
    const token = by.id ? await tx.apiToken.findUnique({ where: { id: by.id } }) : await tx.apiToken.findUnique({ where: { name: by.name ?? "" } });
    if (!token) throw notFound("Token");
    if (token.revokedAt) throw new AppError("INVALID_STATE", `Token "${token.name}" is already revoked`);
    await tx.apiToken.update({ where: { id: token.id }, data: { revokedAt: new Date() } });
    return { result: { id: token.id, name: token.name }, audit: { action: "token.revoke", targetType: "token", targetId: token.id, details: { name: token.name } } };
  });
}

export async function listApiTokens(actor: Actor) {
  authorize(actor, "tokens:manage");
  return db().apiToken.findMany({
    orderBy: { createdAt: "desc" },
    select: { id: true, name: true, prefix: true, role: true, expiresAt: true, lastUsedAt: true, revokedAt: true, createdBy: true, createdAt: true },
  });
}

// lastUsedAt is written at most once a minute per token, so a busy broker does not turn every
// request into a database write.
const LAST_USED_RESOLUTION_MS = 60_000;

interface TokenRecord {
  id: string;
  name: string;
  role: string;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const sqliteTokenLookups = new WeakMap<Database.Database, Database.Statement>();
const date = (v: string | number | null) => (v === null ? null : new Date(v));

/**
 * The token row for a hash, read with a cached statement on the direct connection (lib/db.ts):
 * every REST and broker request authenticates, and the Prisma query cost ~0.3 ms of CPU per
 * request. Times come back as ISO text (SQLite, Prisma's format) or epoch milliseconds (PostgreSQL:
 * no time-zone guessing by the driver).
 */
async function findTokenByHash(tokenHash: string): Promise<TokenRecord | null> {
  let row: { id: string; name: string; role: string; expiresAt: string | number | null; lastUsedAt: string | number | null; revokedAt: string | number | null } | undefined;
  if (isPostgres()) {
    const ms = (column: string) => `(extract(epoch from "${column}") * 1000)::float8 AS "${column}"`;
    const text = `SELECT "id", "name", "role", ${ms("expiresAt")}, ${ms("lastUsedAt")}, ${ms("revokedAt")} FROM "ApiToken" WHERE "tokenHash" = $1`;
    row = (await pgDirect().query({ name: "certfleet-token-by-hash", text, values: [tokenHash] })).rows[0];
  } else {
    const conn = sqliteDirect();
    let statement = sqliteTokenLookups.get(conn);
    if (!statement) sqliteTokenLookups.set(conn, (statement = conn.prepare('SELECT id, name, role, expiresAt, lastUsedAt, revokedAt FROM "ApiToken" WHERE tokenHash = ?')));
    row = statement.get(tokenHash) as typeof row;
  }
  return row ? { ...row, expiresAt: date(row.expiresAt), lastUsedAt: date(row.lastUsedAt), revokedAt: date(row.revokedAt) } : null;
}

/** The actor behind a bearer token, or null when it is unknown, revoked or expired. */
export async function authenticateToken(token: string): Promise<Actor | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  const record = await findTokenByHash(hashToken(token));
  const now = new Date();
  if (!record || record.revokedAt || (record.expiresAt && record.expiresAt <= now) || !isRole(record.role)) return null;
  if (!record.lastUsedAt || now.getTime() - record.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db().apiToken.update({ where: { id: record.id }, data: { lastUsedAt: now } });
  }
  return { kind: "token", id: record.id, label: record.name, role: record.role };
}
