// Foundation on a real database (SQLite file, and PostgreSQL when configured): migrations from
// zero, idempotent first start, roles, tokens, credentials and the audit chain.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { testProviders } from "../helpers/databases";
import { startInstance, type TestInstance } from "../helpers/instance";
import { bootstrap } from "@/lib/bootstrap";
import { db } from "@/lib/db";
import { SYSTEM_ACTOR, type Actor, can, ROLES, PERMISSIONS } from "@/lib/auth/roles";
import { createDevice, updateDevice } from "@/lib/services/devices";
import { createApiToken, authenticateToken, revokeApiToken } from "@/lib/services/tokens";
import { createUser } from "@/lib/services/users";
import { checkCredentials } from "@/lib/auth/credentials";
import { verifyAuditChain } from "@/lib/services/audit";
import { AppError } from "@/lib/errors";

describe.each(testProviders())("foundation on %s", (provider) => {
  let inst: TestInstance;
  beforeAll(async () => {
    inst = await startInstance(provider, { CERTFLEET_ADMIN_EMAIL: "first@test.local" });
  });
  afterAll(async () => inst?.close());

  it("applies the migrations from zero and a second start changes nothing", async () => {
    expect(inst.report.appliedMigrations.length).toBeGreaterThanOrEqual(1);
    expect(inst.report.createdAdmin?.email).toBe("first@test.local");
    const generated = inst.report.createdAdmin!.generatedPassword!;
    expect(generated.length).toBeGreaterThanOrEqual(16);

    const files = ["master.key", "auth.secret", "initial-admin.txt"].map((f) => path.join(inst.dataDir, f));
    const before = files.map((f) => readFileSync(f, "utf8"));
    for (const f of files) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(before[2]).toContain(generated);
    const usersBefore = await db().user.findMany();

    const again = await bootstrap(() => undefined);
    expect(again.appliedMigrations).toEqual([]);
    expect(again.createdAdmin).toBeUndefined();
    expect(files.map((f) => readFileSync(f, "utf8"))).toEqual(before);
    expect(await db().user.findMany()).toEqual(usersBefore);
    expect(await checkCredentials("first@test.local", generated)).toMatchObject({ role: "admin" });
  });

  it("gives each role exactly its permissions", () => {
    expect(PERMISSIONS.every((p) => can("admin", p))).toBe(true);
    expect(can("operator", "devices:write")).toBe(true);
    expect(can("operator", "users:manage")).toBe(false);
    expect(can("operator", "tokens:manage")).toBe(false);
    expect(can("viewer", "devices:read")).toBe(true);
    expect(can("viewer", "devices:write")).toBe(false);
    expect(can("broker", "broker:read")).toBe(true);
    expect(can("broker", "devices:read")).toBe(false);
    expect(ROLES.filter((r) => can(r, "psk:reveal"))).toEqual(["admin"]);
  });

  it("refuses a viewer's mutation in the service and stores nothing", async () => {
    const viewer: Actor = { kind: "user", id: "v", label: "viewer@test", role: "viewer" };
    const before = await db().device.count();
    const auditBefore = await db().auditEvent.count();
    await expect(createDevice(viewer, { name: "not-allowed" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(await db().device.count()).toBe(before);
    expect(await db().auditEvent.count()).toBe(auditBefore);
  });

  it("answers the same for a wrong password and an unknown user", async () => {
    await createUser(SYSTEM_ACTOR, { email: "op@test.local", role: "operator", password: "operator-password" });
    expect(await checkCredentials("op@test.local", "operator-password")).toMatchObject({ role: "operator" });
    expect(await checkCredentials("op@test.local", "wrong-password")).toBeNull();
    expect(await checkCredentials("nobody@test.local", "operator-password")).toBeNull();
    await expect(createUser(SYSTEM_ACTOR, { email: "op@test.local", role: "viewer", password: "another-password" })).rejects.toMatchObject({ code: "CONFLICT" });
  });

  it("stores tokens hashed and refuses revoked and expired ones", async () => {
    const created = await createApiToken(SYSTEM_ACTOR, { name: "ci-viewer", role: "viewer" });
    expect(created.token).toMatch(/^cf_[A-Za-z0-9_-]{43}$/);
    const row = await db().apiToken.findUniqueOrThrow({ where: { id: created.id } });
    expect(JSON.stringify(row)).not.toContain(created.token);
    expect(JSON.stringify(row)).not.toContain(created.token.slice(3));
    expect(await authenticateToken(created.token)).toMatchObject({ kind: "token", role: "viewer", label: "ci-viewer" });
    expect(await authenticateToken(created.token + "x")).toBeNull();

    await revokeApiToken(SYSTEM_ACTOR, { name: "ci-viewer" });
    expect(await authenticateToken(created.token)).toBeNull();

    const expiring = await createApiToken(SYSTEM_ACTOR, { name: "short", role: "operator", expiresInDays: 1 });
    expect(await authenticateToken(expiring.token)).not.toBeNull();
    // Times read on the direct connection must mean what Prisma wrote: a minute ahead is valid,
    // a second ago is not (an hour of time-zone confusion would flip one of them).
    await db().apiToken.update({ where: { id: expiring.id }, data: { expiresAt: new Date(Date.now() + 60_000), lastUsedAt: null } });
    expect(await authenticateToken(expiring.token)).not.toBeNull();
    const used = (await db().apiToken.findUniqueOrThrow({ where: { id: expiring.id } })).lastUsedAt!;
    expect(Math.abs(used.getTime() - Date.now())).toBeLessThan(5000);
    await authenticateToken(expiring.token);
    expect((await db().apiToken.findUniqueOrThrow({ where: { id: expiring.id } })).lastUsedAt).toEqual(used);
    await db().apiToken.update({ where: { id: expiring.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await authenticateToken(expiring.token)).toBeNull();
  });

  it("detects a tampered, deleted or truncated audit chain", async () => {
    const device = await createDevice(SYSTEM_ACTOR, { name: "audited-1", tags: ["a"] });
    await updateDevice(SYSTEM_ACTOR, device.id, { tags: ["b"] });
    const ok = await verifyAuditChain(SYSTEM_ACTOR);
    expect(ok.ok).toBe(true);
    const total = await db().auditEvent.count();
    expect(ok.checked).toBe(total);
    const actions = (await db().auditEvent.findMany({ orderBy: { seq: "asc" } })).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["user.create", "device.create", "device.update", "token.create", "token.revoke"]));

    const victim = await db().auditEvent.findFirstOrThrow({ where: { action: "device.create" } });
    await db().auditEvent.update({ where: { seq: victim.seq }, data: { details: JSON.stringify({ name: "someone-else" }) } });
    const tampered = await verifyAuditChain(SYSTEM_ACTOR);
    expect(tampered).toMatchObject({ ok: false, brokenAt: victim.seq });
    await db().auditEvent.update({ where: { seq: victim.seq }, data: { details: victim.details } });
    expect((await verifyAuditChain(SYSTEM_ACTOR)).ok).toBe(true);

    const last = await db().auditEvent.findFirstOrThrow({ orderBy: { seq: "desc" } });
    await db().auditEvent.delete({ where: { seq: last.seq } });
    expect(await verifyAuditChain(SYSTEM_ACTOR)).toMatchObject({ ok: false });
    await db().auditEvent.create({ data: last });
    expect((await verifyAuditChain(SYSTEM_ACTOR)).ok).toBe(true);

    const middle = await db().auditEvent.findFirstOrThrow({ where: { seq: 2 } });
    await db().auditEvent.delete({ where: { seq: 2 } });
    expect(await verifyAuditChain(SYSTEM_ACTOR)).toMatchObject({ ok: false, brokenAt: 2 });
    await db().auditEvent.create({ data: middle });
  });

  it("keeps the chain linear under concurrent writers", async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => createDevice(SYSTEM_ACTOR, { name: `concurrent-${i}` })));
    const verdict = await verifyAuditChain(SYSTEM_ACTOR);
    expect(verdict.ok).toBe(true);
    expect(await db().device.count({ where: { name: { startsWith: "concurrent-" } } })).toBe(20);
  });

  it("refuses duplicates with a conflict and changes nothing", async () => {
    await createDevice(SYSTEM_ACTOR, { name: "unique-1", externalId: "EXT-1" });
    const before = await db().device.count();
    await expect(createDevice(SYSTEM_ACTOR, { name: "unique-1" })).rejects.toBeInstanceOf(AppError);
    await expect(createDevice(SYSTEM_ACTOR, { name: "unique-2", externalId: "EXT-1" })).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await db().device.count()).toBe(before);
  });
});
