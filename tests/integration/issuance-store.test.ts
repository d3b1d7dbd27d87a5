// The issuance writer bypasses Prisma for speed, so it must write exactly what Prisma would:
// rows are read back through Prisma and compared field by field, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { testProviders } from "../helpers/databases";
import { startInstance, type TestInstance } from "../helpers/instance";
import { db, isPostgres, transaction } from "@/lib/db";
import { SYSTEM_ACTOR, type Actor } from "@/lib/auth/roles";
import { createDevice } from "@/lib/services/devices";
import { issueDeviceCertificate } from "@/lib/services/certificates";
import { defaultIssuingCa, forgetSignersForTests } from "@/lib/services/cas";
import { verifyAuditChain } from "@/lib/services/audit";
import { isSerialCollision, storeIssuedBatch } from "@/lib/services/issuance-store";
import { commitIssued, recordIssuedInTx, type IssuedItem } from "@/lib/services/issuance";
import { ZIssueCertificate } from "@/lib/validation/certificates";

const operator: Actor = { kind: "user", id: "op", label: "op@test", role: "operator" };

describe.each(testProviders())("issuance writer on %s", (provider) => {
  let inst: TestInstance;
  beforeAll(async () => {
    inst = await startInstance(provider, { CERTFLEET_PUBLIC_URL: "http://pki.test:8080" });
    forgetSignersForTests();
  });
  afterAll(async () => {
    await inst?.close();
  });

  const counts = async () => ({ certificates: await db().certificate.count(), audit: await db().auditEvent.count(), head: await db().auditHead.findUnique({ where: { id: 1 } }) });

  async function item(deviceId: string, overrides: Partial<IssuedItem["row"]> = {}, crlUrl = "http://pki.test:8080/pki/crl/issuing-1.crl"): Promise<IssuedItem> {
    const ca = await defaultIssuingCa();
    const notBefore = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    return {
      row: {
        id: `c${randomBytes(12).toString("hex")}`,
        deviceId,
        caId: ca.id,
        serialHex: `7${randomBytes(15).toString("hex")}`,
        profile: "device-client",
        subject: "CN=ünïcode-device",
        sans: JSON.stringify({ dns: ["a.example"] }),
        notBefore,
        notAfter: new Date(notBefore.getTime() + 90 * 86_400_000 + 1),
        fingerprint: randomBytes(32).toString("hex"),
        keySource: "csr",
        keyAlgorithm: "EC-P256",
        publicKeyDer: new Uint8Array(randomBytes(91)),
        der: new Uint8Array(randomBytes(400)),
        ...overrides,
      },
      audit: { actor: operator, input: { action: "certificate.issue", targetType: "device", targetId: deviceId, details: { note: "store test" } } },
      crlUrl,
      knownCrlUris: JSON.parse(ca.crlUris) as string[],
    };
  }

  it("writes rows that read back through Prisma exactly as returned, points devices at the batch's last certificate, and chains the audit", async () => {
    const a = await createDevice(operator, { name: "store-a" });
    const b = await createDevice(operator, { name: "store-b" });
    const before = await counts();
    const batch = [await item(a.id), await item(b.id), await item(a.id)];
    const returned = await storeIssuedBatch(batch);

    for (const it of batch) {
      const stored = await db().certificate.findUniqueOrThrow({ where: { id: it.row.id } });
      expect(stored).toEqual(returned.get(it.row.id));
      expect(stored.notBefore.toISOString()).toBe("2026-01-02T03:04:05.678Z");
      expect(Buffer.from(stored.der).equals(Buffer.from(it.row.der))).toBe(true);
      expect(stored.status).toBe("active");
    }
    expect((await db().device.findUniqueOrThrow({ where: { id: a.id } })).currentCertId).toBe(batch[2].row.id);
    const deviceB = await db().device.findUniqueOrThrow({ where: { id: b.id } });
    expect(deviceB.currentCertId).toBe(batch[1].row.id);
    expect(deviceB.certNotAfter?.getTime()).toBe(batch[1].row.notAfter.getTime());
    expect(deviceB.updatedAt.getTime()).toBeGreaterThan(b.createdAt.getTime() - 1);

    const after = await counts();
    expect(after.certificates).toBe(before.certificates + 3);
    expect(after.audit).toBe(before.audit + 3);
    expect(after.head!.seq).toBe(before.head!.seq + 3);
    const events = await db().auditEvent.findMany({ where: { seq: { gt: before.head!.seq } }, orderBy: { seq: "asc" } });
    expect(events.map((e) => [e.actor, e.actorLabel, e.targetId, JSON.parse(e.details).note])).toEqual(batch.map((it) => ["user:op", "op@test", it.row.deviceId, "store test"]));
    expect(events[0].prevHash).toBe(before.head!.hash);
    expect(await verifyAuditChain(SYSTEM_ACTOR)).toMatchObject({ ok: true });

    // The Prisma audit path continues the same chain.
    await createDevice(operator, { name: "store-after" });
    expect(await verifyAuditChain(SYSTEM_ACTOR)).toMatchObject({ ok: true });
  });

  it("writes the same certificate row, device pointer, distribution points and audit event through the group commit and inside a Prisma transaction", async () => {
    const viaQueue = await createDevice(operator, { name: "path-queue" });
    const viaTx = await createDevice(operator, { name: "path-tx" });
    const newUrl = `http://moved-${provider}.example/pki/crl/issuing-1.crl`;
    const shared = { serialHex: `6${randomBytes(15).toString("hex")}` };
    const a = await item(viaQueue.id, shared, newUrl);
    const b = await item(viaTx.id, { ...a.row, id: `c${randomBytes(12).toString("hex")}`, deviceId: viaTx.id, serialHex: `5${randomBytes(15).toString("hex")}`, fingerprint: randomBytes(32).toString("hex") }, newUrl);
    b.audit = { ...a.audit, input: { ...a.audit.input, targetId: viaTx.id } };
    const caBefore = await db().certificateAuthority.findUniqueOrThrow({ where: { id: a.row.caId } });

    const returnedA = await commitIssued(a);
    const versionAfterA = (await db().certificateAuthority.findUniqueOrThrow({ where: { id: a.row.caId } })).revocationVersion;
    const returnedB = await transaction((tx) => recordIssuedInTx(tx, b));

    const rowA = await db().certificate.findUniqueOrThrow({ where: { id: a.row.id } });
    const rowB = await db().certificate.findUniqueOrThrow({ where: { id: b.row.id } });
    expect(rowA).toEqual(returnedA);
    expect(rowB).toEqual(returnedB);
    const comparable = (r: typeof rowA) => ({ ...r, id: undefined, deviceId: undefined, serialHex: undefined, fingerprint: undefined, createdAt: undefined, der: Buffer.from(r.der).toString("hex"), publicKeyDer: Buffer.from(r.publicKeyDer).toString("hex") });
    expect(comparable(rowB)).toEqual(comparable(rowA));
    const devA = await db().device.findUniqueOrThrow({ where: { id: viaQueue.id } });
    const devB = await db().device.findUniqueOrThrow({ where: { id: viaTx.id } });
    expect([devA.currentCertId, devA.certNotAfter?.getTime()]).toEqual([a.row.id, a.row.notAfter.getTime()]);
    expect([devB.currentCertId, devB.certNotAfter?.getTime()]).toEqual([b.row.id, b.row.notAfter.getTime()]);
    // The first writer adds the new distribution point (and bumps the version once); the second finds it there.
    const caAfter = await db().certificateAuthority.findUniqueOrThrow({ where: { id: a.row.caId } });
    expect(JSON.parse(caAfter.crlUris)).toEqual([...JSON.parse(caBefore.crlUris), newUrl]);
    expect([versionAfterA, caAfter.revocationVersion]).toEqual([caBefore.revocationVersion + 1, caBefore.revocationVersion + 1]);
    const events = await db().auditEvent.findMany({ where: { targetId: { in: [viaQueue.id, viaTx.id] }, action: "certificate.issue" }, orderBy: { seq: "asc" } });
    expect(events.map((e) => [e.targetId, e.actor, e.actorLabel, e.details])).toEqual([
      [viaQueue.id, "user:op", "op@test", JSON.stringify(a.audit.input.details)],
      [viaTx.id, "user:op", "op@test", JSON.stringify(b.audit.input.details)],
    ]);
    expect(await verifyAuditChain(SYSTEM_ACTOR)).toMatchObject({ ok: true });
  });

  it("supersedes the replaced certificate and records the EST enrollment alike through the group commit and inside a Prisma transaction; of two successors one wins", async () => {
    const results: { old: unknown; device: unknown }[] = [];
    for (const way of ["queue", "tx"] as const) {
      const device = await createDevice(operator, { name: `successor-${way}` });
      const first = await item(device.id);
      await commitIssued(first);
      const next = { ...(await item(device.id)), supersedes: first.row.id, enrolledBy: "reenroll" as const };
      const before = Date.now();
      if (way === "queue") await commitIssued(next);
      else await transaction((tx) => recordIssuedInTx(tx, next));
      const old = await db().certificate.findUniqueOrThrow({ where: { id: first.row.id } });
      const dev = await db().device.findUniqueOrThrow({ where: { id: device.id } });
      expect(old).toMatchObject({ status: "superseded", supersededById: next.row.id });
      expect(dev).toMatchObject({ currentCertId: next.row.id, estEnrolledBy: "reenroll" });
      expect(dev.estEnrolledAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      results.push({ old: { status: old.status, revokedAt: old.revokedAt }, device: { status: dev.status, estEnrolledBy: dev.estEnrolledBy } });

      // A second successor of the same certificate is refused with CONFLICT and stores nothing.
      const late = { ...(await item(device.id)), supersedes: first.row.id, enrolledBy: "reenroll" as const };
      const countsBefore = await counts();
      const error = await (way === "queue" ? commitIssued(late) : transaction((tx) => recordIssuedInTx(tx, late))).then(() => null, (e: unknown) => e);
      expect(error).toMatchObject({ code: "CONFLICT" });
      expect(await counts()).toEqual(countsBefore);
    }
    expect(results[1]).toEqual(results[0]);
    // Two successors in one batch: the whole batch fails, each is retried alone, one wins.
    const device = await createDevice(operator, { name: "successor-race" });
    const first = await item(device.id);
    await commitIssued(first);
    const racing = [await item(device.id), await item(device.id)].map((i) => ({ ...i, supersedes: first.row.id }));
    const settled = await Promise.allSettled(racing.map((i) => commitIssued(i)));
    expect(settled.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(await db().certificate.count({ where: { deviceId: device.id } })).toBe(2);
    expect(await verifyAuditChain(SYSTEM_ACTOR)).toMatchObject({ ok: true });
  });

  it("stores nothing from a batch when one device is no longer active", async () => {
    const a = await createDevice(operator, { name: "store-live" });
    const gone = await createDevice(operator, { name: "store-gone" });
    await db().device.update({ where: { id: gone.id }, data: { status: "decommissioned" } });
    const before = await counts();
    const error = await storeIssuedBatch([await item(a.id), await item(gone.id)]).then(() => null, (e) => e);
    expect(error).toMatchObject({ code: "INVALID_STATE" });
    expect(await counts()).toEqual(before);
    expect((await db().device.findUniqueOrThrow({ where: { id: a.id } })).currentCertId).toBeNull();
  });

  it("reports a serial collision as such and stores nothing from the batch", async () => {
    const a = await createDevice(operator, { name: "store-collide" });
    const first = await item(a.id);
    await storeIssuedBatch([first]);
    const before = await counts();
    const error = await storeIssuedBatch([await item(a.id), await item(a.id, { serialHex: first.row.serialHex })]).then(() => null, (e) => e);
    expect(error).not.toBeNull();
    expect(isSerialCollision(error)).toBe(true);
    expect(await counts()).toEqual(before);
  });

  it("adds a new distribution point to the CA and bumps its revocation version", async () => {
    const a = await createDevice(operator, { name: "store-newurl" });
    const ca = await defaultIssuingCa();
    const before = await db().certificateAuthority.findUniqueOrThrow({ where: { id: ca.id } });
    await storeIssuedBatch([await item(a.id, {}, "http://new.example/pki/crl/issuing-1.crl")]);
    const after = await db().certificateAuthority.findUniqueOrThrow({ where: { id: ca.id } });
    expect(JSON.parse(after.crlUris)).toEqual([...JSON.parse(before.crlUris), "http://new.example/pki/crl/issuing-1.crl"]);
    expect(after.revocationVersion).toBe(before.revocationVersion + 1);
  });

  it("waits for a Prisma transaction that holds the write lock instead of failing or stalling it", async () => {
    const a = await createDevice(operator, { name: "store-wait" });
    const b = await createDevice(operator, { name: "store-wait-b" });
    const input = ZIssueCertificate.parse({ generateKey: { algorithm: "EC-P256" } });
    let issued: Promise<unknown> | undefined;
    await transaction(async (tx) => {
      // Write first, so on SQLite this transaction holds the database's write lock …
      await tx.device.update({ where: { id: b.id }, data: { metadata: '{"held":true}' } });
      // … then let an issuance try to commit while it is held, and keep going across awaits.
      issued = issueDeviceCertificate(operator, a.id, input);
      await new Promise((r) => setTimeout(r, 150));
      await tx.device.update({ where: { id: b.id }, data: { metadata: '{"held":"done"}' } });
    });
    const out = (await issued) as { certificate: { id: string } };
    expect((await db().device.findUniqueOrThrow({ where: { id: a.id } })).currentCertId).toBe(out.certificate.id);
    expect((await db().device.findUniqueOrThrow({ where: { id: b.id } })).metadata).toBe('{"held":"done"}');
    expect(await verifyAuditChain(SYSTEM_ACTOR)).toMatchObject({ ok: true });
    expect(isPostgres()).toBe(provider === "postgresql");
  });
});
