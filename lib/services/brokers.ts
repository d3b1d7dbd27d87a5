// The brokers CertFleet serves as auth backend and whose sessions it closes: register (the
// auth-backend secret is shown once, only its SHA-256 is stored), change, remove, list with health.
//
// Why a secret in the URL: RabbitMQ's rabbitmq_auth_backend_http sends no Authorization header
// (GET/POST with the user's attributes only), so the only thing it can present is the URL
// configured in rabbitmq.conf — or a TLS client certificate, which CertFleet's HTTPS port would
// have to require for /broker-auth only. The secret is 256 bits, compared by hash; a request
// with an unknown secret gets 404 and is never logged with its path.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { db, type Tx } from "../db";
import { config } from "../config";
import { AppError, notFound } from "../errors";
import { authorize, type Actor } from "../auth/roles";
import { getMasterKey } from "../secrets";
import { openSecret, sealSecret } from "../pki/keystore";
import { withAudit } from "./audit";
import { onAccessChanged } from "../events";
import { announceAccessChanged, markAccessChanged } from "./mqtt-access";
import type { TBrokerUpdate, TNewBroker } from "../validation/brokers";
import type { Prisma } from "../generated/sqlite/client";

type BrokerRow = Prisma.BrokerGetPayload<object>;
export const BROKER_AUTH_PREFIX = "/broker-auth/";

export interface BrokerView {
  id: string;
  name: string;
  kind: string;
  adminUrl: string | null;
  adminUsername: string | null;
  hasAdminPassword: boolean;
  /** Whether CertFleet can close this broker's sessions (RabbitMQ / EMQX with admin URL and credentials). */
  canCloseSessions: boolean;
  lastSyncAt: Date | null;
  lastAuthAt: Date | null;
  lastKickAt: Date | null;
  kickCount: number;
  lastKickError: string | null;
  lastKickErrorAt: Date | null;
  createdAt: Date;
}

export interface BrokerWithSecret extends BrokerView {
  /** The auth-backend base URL with the secret: shown once. */
  authUrl: string;
}

const sealContext = (id: string) => `broker:${id}`;
const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");

function toView(b: BrokerRow): BrokerView {
  return {
    id: b.id,
    name: b.name,
    kind: b.kind,
    adminUrl: b.adminUrl,
    adminUsername: b.adminUsername,
    hasAdminPassword: b.sealedAdminPassword !== null,
    canCloseSessions: (b.kind === "rabbitmq" || b.kind === "emqx") && !!b.adminUrl && !!b.adminUsername && b.sealedAdminPassword !== null,
    lastSyncAt: b.lastSyncAt,
    lastAuthAt: lastAuthSeen.get(b.id) ?? b.lastAuthAt,
    lastKickAt: b.lastKickAt,
    kickCount: b.kickCount,
    lastKickError: b.lastKickError,
    lastKickErrorAt: b.lastKickErrorAt,
    createdAt: b.createdAt,
  };
}

/**
 * The auth backend tells the admin from a device by the password RabbitMQ forwards; a device named
 * like the admin would be refused on that broker (a certificate never logs in as the admin).
 */
async function assertAdminNameFree(tx: Tx, username: string): Promise<void> {
  if (await tx.device.findUnique({ where: { name: username }, select: { id: true } })) {
    throw new AppError("CONFLICT", `A device is named "${username}": choose another admin user name`, [{ path: "adminUsername", message: "A device has this name" }]);
  }
}

function authUrlFor(secret: string): string {
  return `${config().publicUrl.replace(/\/+$/, "")}${BROKER_AUTH_PREFIX}${secret}`;
}

function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export async function createBroker(actor: Actor, input: TNewBroker): Promise<BrokerWithSecret> {
  authorize(actor, "brokers:manage");
  const secret = newSecret();
  const row = await withAudit(actor, async (tx) => {
    if (await tx.broker.findUnique({ where: { name: input.name } })) {
      throw new AppError("CONFLICT", `A broker named "${input.name}" already exists`, [{ path: "name", message: "Already taken" }]);
    }
    if (input.adminUsername) await assertAdminNameFree(tx, input.adminUsername);
    const created = await tx.broker.create({
      data: { name: input.name, kind: input.kind, adminUrl: input.adminUrl ?? null, adminUsername: input.adminUsername ?? null, authSecretHash: hashSecret(secret) },
    });
    const sealed = input.adminPassword ? sealSecret(getMasterKey(), new Uint8Array(Buffer.from(input.adminPassword, "utf8")), sealContext(created.id)) : null;
    const updated = sealed ? await tx.broker.update({ where: { id: created.id }, data: { sealedAdminPassword: sealed } }) : created;
    await markAccessChanged(tx);
    return {
      result: updated,
      audit: { action: "broker.create", targetType: "broker", targetId: created.id, details: { name: input.name, kind: input.kind, adminUrl: input.adminUrl ?? null } },
    };
  });
  announceAccessChanged([]);
  return { ...toView(row), authUrl: authUrlFor(secret) };
}

export async function updateBroker(actor: Actor, id: string, change: TBrokerUpdate): Promise<BrokerView & { authUrl?: string }> {
  authorize(actor, "brokers:manage");
  const secret = change.rotateSecret ? newSecret() : undefined;
  const row = await withAudit(actor, async (tx) => {
    const broker = await tx.broker.findUnique({ where: { id } });
    if (!broker) throw notFound("Broker");
    if (broker.kind === "mosquitto" && (change.adminUrl || change.adminUsername || change.adminPassword)) {
      throw new AppError("VALIDATION", "Mosquitto has no API to close sessions", [{ path: "adminUrl", message: "Not for Mosquitto" }]);
    }
    if (change.adminUsername) await assertAdminNameFree(tx, change.adminUsername);
    const data: Prisma.BrokerUpdateInput = {};
    if (change.adminUrl !== undefined) data.adminUrl = change.adminUrl;
    if (change.adminUsername !== undefined) data.adminUsername = change.adminUsername;
    if (change.adminPassword !== undefined) {
      data.sealedAdminPassword = change.adminPassword === null ? null : sealSecret(getMasterKey(), new Uint8Array(Buffer.from(change.adminPassword, "utf8")), sealContext(id));
    }
    if (secret) data.authSecretHash = hashSecret(secret);
    const updated = await tx.broker.update({ where: { id }, data });
    await markAccessChanged(tx);
    return {
      result: updated,
      audit: {
        action: "broker.update",
        targetType: "broker",
        targetId: id,
        // Which fields changed, never the password.
        details: { name: broker.name, adminUrl: change.adminUrl, adminUsername: change.adminUsername, adminPassword: change.adminPassword === undefined ? undefined : change.adminPassword === null ? "removed" : "changed", rotatedSecret: !!secret },
      },
    };
  });
  announceAccessChanged([]);
  return { ...toView(row), ...(secret && { authUrl: authUrlFor(secret) }) };
}

export async function deleteBroker(actor: Actor, id: string): Promise<void> {
  authorize(actor, "brokers:manage");
  await withAudit(actor, async (tx) => {
    const broker = await tx.broker.findUnique({ where: { id } });
    if (!broker) throw notFound("Broker");
    await tx.broker.delete({ where: { id } });
    await markAccessChanged(tx);
    return { result: undefined, audit: { action: "broker.delete", targetType: "broker", targetId: id, details: { name: broker.name } } };
  });
  announceAccessChanged([]);
}

export async function listBrokers(actor: Actor): Promise<BrokerView[]> {
  authorize(actor, "brokers:read");
  const rows = await db().broker.findMany({ orderBy: { name: "asc" } });
  return rows.map(toView);
}

export async function getBroker(actor: Actor, id: string): Promise<BrokerView> {
  authorize(actor, "brokers:read");
  const row = await db().broker.findUnique({ where: { id } });
  if (!row) throw notFound("Broker");
  return toView(row);
}

// ---------------------------------------------------------------------------------------------
// For the auth backend and the session closer (no actor: they act for the broker / the system).

export interface BrokerIdentity {
  id: string;
  name: string;
  kind: string;
  adminUsername: string | null;
  /** SHA-256 of the admin password, for a constant-time comparison (the password stays sealed). */
  adminPasswordDigest: Buffer | null;
}

const g = globalThis as unknown as { __certfleetBrokers?: { loadedAt: number; source: string; bySecretHash: Map<string, BrokerIdentity> | null; listening: boolean } };
const registry = (g.__certfleetBrokers ??= { loadedAt: 0, source: "", bySecretHash: null, listening: false });
/** Registry changes are rare; every instance re-reads at most this often (and at once after a local change). */
const REGISTRY_TTL_MS = 1_000;

/** Drops the in-memory registry (after a local change; the poller's markers cover other instances within the TTL). */
export function forgetBrokerRegistry(): void {
  registry.bySecretHash = null;
}

/** The broker whose auth-backend secret this is, or null. */
export async function brokerForSecret(secret: string): Promise<BrokerIdentity | null> {
  if (!registry.listening) {
    registry.listening = true;
    onAccessChanged(forgetBrokerRegistry);
  }
  const source = config().databaseUrl;
  if (!registry.bySecretHash || registry.source !== source || Date.now() - registry.loadedAt > REGISTRY_TTL_MS) {
    const rows = await db().broker.findMany({ select: { id: true, name: true, kind: true, adminUsername: true, sealedAdminPassword: true, authSecretHash: true } });
    const masterKey = getMasterKey();
    registry.bySecretHash = new Map(
      rows.map((r) => [
        r.authSecretHash,
        {
          id: r.id,
          name: r.name,
          kind: r.kind,
          adminUsername: r.adminUsername,
          adminPasswordDigest: r.sealedAdminPassword ? createHash("sha256").update(openSecret(masterKey, r.sealedAdminPassword, sealContext(r.id))).digest() : null,
        },
      ]),
    );
    registry.loadedAt = Date.now();
    registry.source = source;
  }
  return registry.bySecretHash.get(hashSecret(secret)) ?? null;
}

/** Whether `password` is the broker's admin password (constant time). */
export function isAdminPassword(broker: BrokerIdentity, password: string): boolean {
  if (!broker.adminPasswordDigest) return false;
  return timingSafeEqual(createHash("sha256").update(password, "utf8").digest(), broker.adminPasswordDigest);
}

/** The admin credentials of every broker whose sessions CertFleet can close. Never logged. */
export async function brokersWithAdminAccess(): Promise<{ id: string; name: string; kind: "rabbitmq" | "emqx"; adminUrl: string; username: string; password: string }[]> {
  const rows = await db().broker.findMany({ where: { kind: { in: ["rabbitmq", "emqx"] }, adminUrl: { not: null }, adminUsername: { not: null }, sealedAdminPassword: { not: null } } });
  const masterKey = getMasterKey();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind as "rabbitmq" | "emqx",
    adminUrl: r.adminUrl!.replace(/\/+$/, ""),
    username: r.adminUsername!,
    password: Buffer.from(openSecret(masterKey, r.sealedAdminPassword!, sealContext(r.id))).toString("utf8"),
  }));
}

// Last auth-backend call per broker: kept in memory (the backend answers many requests a second)
// and written to the database by flushBrokerActivity every few seconds.
const lastAuthSeen = new Map<string, Date>();
const lastAuthWritten = new Map<string, number>();

export function recordBrokerAuthCall(brokerId: string): void {
  lastAuthSeen.set(brokerId, new Date());
}

export async function recordBrokerSync(brokerId: string): Promise<void> {
  await db().broker.updateMany({ where: { id: brokerId }, data: { lastSyncAt: new Date() } });
}

export async function flushBrokerActivity(): Promise<void> {
  for (const [id, at] of lastAuthSeen) {
    if (lastAuthWritten.get(id) === at.getTime()) continue;
    await db().broker.updateMany({ where: { id }, data: { lastAuthAt: at } });
    lastAuthWritten.set(id, at.getTime());
  }
}

/** Outcome of closing sessions on one broker, for its health. The error text never holds a secret. */
export async function recordKickOutcome(brokerId: string, outcome: { closed: number } | { error: string }): Promise<void> {
  const now = new Date();
  if ("error" in outcome) {
    await db().broker.updateMany({ where: { id: brokerId }, data: { lastKickError: outcome.error.slice(0, 500), lastKickErrorAt: now } });
  } else if (outcome.closed > 0) {
    await db().broker.updateMany({ where: { id: brokerId }, data: { lastKickAt: now, kickCount: { increment: outcome.closed } } });
  }
}
