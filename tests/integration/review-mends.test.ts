// Mends from the first outside review, each held on a real database (SQLite, and PostgreSQL when
// configured): serial search in every spelling people paste, a decommission that cannot be undone
// by releasing a hold, device names that fit a certificate CN, concurrent PSK rotations with one
// winner and at most two live keys, and CSV cells a spreadsheet cannot run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testProviders } from "../helpers/databases";
import { startInstance, type TestInstance } from "../helpers/instance";
import { Workdir } from "../helpers/openssl";
import { db } from "@/lib/db";
import type { Actor } from "@/lib/auth/roles";
import { AppError } from "@/lib/errors";
import { createDevice, decommissionDevice, updateDevice } from "@/lib/services/devices";
import { issueDeviceCertificate, listCertificates, revokeCertificate, unholdCertificate } from "@/lib/services/certificates";
import { listInventory } from "@/lib/services/inventory";
import { forgetCrlStateForTests, refreshCrl } from "@/lib/services/crl";
import { forgetSignersForTests } from "@/lib/services/cas";
import { createOrRotatePsk, listDevicePsks } from "@/lib/services/psk";
import { csvCell } from "@/lib/services/export";
import { importChunk, previewImportChunk } from "@/lib/services/import";
import { ZCertificateQuery, ZIssueCertificate } from "@/lib/validation/certificates";
import { ZNewDevice } from "@/lib/validation/devices";
import { ZInventoryQuery } from "@/lib/validation/inventory";

const operator: Actor = { kind: "user", id: "op", label: "op@test", role: "operator" };
const viewer: Actor = { kind: "user", id: "v", label: "viewer@test", role: "viewer" };

/** The ways a serial is written: stored form, upper case, openssl's colon pairs, and the integer without its leading zero. */
function spellings(serialHex: string): string[] {
  const upper = serialHex.toUpperCase();
  return [serialHex, upper, upper.match(/../g)!.join(":"), serialHex.replace(/^0+/, ""), `0x${serialHex}`];
}

describe.each(testProviders())("review mends on %s", (provider) => {
  let inst: TestInstance;
  let work: Workdir;
  const issue = (deviceId: string) => issueDeviceCertificate(operator, deviceId, ZIssueCertificate.parse({ generateKey: { algorithm: "EC-P256" } }));

  beforeAll(async () => {
    inst = await startInstance(provider);
    forgetSignersForTests();
    forgetCrlStateForTests();
    work = new Workdir();
  });
  afterAll(async () => {
    work?.dispose();
    await inst?.close();
  });

  it("finds a certificate whose serial starts with 0 by serial in every spelling, over REST's query and the inventory search", async () => {
    const device = await createDevice(operator, { name: "serial-probe" });
    // About one serial in eight starts with a 0 nibble (first octet 01..0f of 01..7f).
    let found: { id: string; serialHex: string } | undefined;
    for (let i = 0; i < 200 && !found; i++) {
      const out = await issue(device.id);
      if (out.certificate.serialHex.startsWith("0")) found = out.certificate;
    }
    expect(found, "no serial with a leading 0 in 200 issuances").toBeDefined();
    for (const spelling of spellings(found!.serialHex)) {
      const query = ZCertificateQuery.parse({ serial: spelling });
      const listed = await listCertificates(viewer, query);
      expect(listed.items.map((c) => c.id), `REST serial=${spelling}`).toEqual([found!.id]);
    }
    // The inventory's free-text search takes a serial prefix in the same spellings.
    for (const spelling of spellings(found!.serialHex).slice(0, 4)) {
      const page = await listInventory(viewer, ZInventoryQuery.parse({ q: spelling.slice(0, 14) }));
      expect(page.items.map((r) => r.id), `inventory q=${spelling.slice(0, 14)}`).toContain(device.id);
    }
    expect(() => ZCertificateQuery.parse({ serial: "not-hex" })).toThrow(/not hexadecimal/);
  });

  it("pages certificates with the same keyset cursors as devices, and refuses a forged one", async () => {
    const device = await createDevice(operator, { name: "pages" });
    for (let i = 0; i < 8; i++) await issue(device.id);
    const all = await listCertificates(viewer, ZCertificateQuery.parse({ limit: 500 }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listCertificates(viewer, ZCertificateQuery.parse({ limit: 7, cursor }));
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.items.map((c) => c.id));
    expect(seen.length).toBeGreaterThan(7);
    for (const forged of ["x", Buffer.from('{"p":0,"k":"not a time","id":"c1"}').toString("base64url")]) {
      await expect(listCertificates(viewer, ZCertificateQuery.parse({ cursor: forged }))).rejects.toMatchObject({ code: "VALIDATION" });
    }
  });

  it("decommissioning makes a held certificate's revocation final; a hold is released only on an active device", async () => {
    const device = await createDevice(operator, { name: "held-then-gone" });
    const out = await issue(device.id);
    const held = await revokeCertificate(operator, out.certificate.id, "certificateHold");
    await decommissionDevice(operator, device.id);
    const row = await db().certificate.findUniqueOrThrow({ where: { id: out.certificate.id } });
    // Made permanent: reason cessationOfOperation, keeping the date of the hold (RFC 5280 5.3.2).
    expect([row.status, row.revocationReason, row.revokedAt?.getTime()]).toEqual(["revoked", 5, held.revokedAt?.getTime()]);
    await expect(unholdCertificate(operator, out.certificate.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
    const served = await refreshCrl(row.caId);
    work.file("decommissioned.crl", Buffer.from(served.der));
    const text = work.ok(["crl", "-inform", "DER", "-in", "decommissioned.crl", "-noout", "-text"]);
    // openssl prints the serial as an integer (no leading zero) and the reason on the entry.
    const entries = new Map([...text.matchAll(/Serial Number: ([0-9A-F]+)\s+Revocation Date[^\n]*\n(?:\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+([^\n]+))?/g)].map((m) => [m[1].replace(/^0+/, ""), m[2]?.trim()]));
    expect(entries.get(row.serialHex.toUpperCase().replace(/^0+/, ""))).toBe("Cessation Of Operation");

    const disabled = await createDevice(operator, { name: "held-then-disabled" });
    const other = await issue(disabled.id);
    await revokeCertificate(operator, other.certificate.id, "certificateHold");
    await updateDevice(operator, disabled.id, { status: "disabled" });
    await expect(unholdCertificate(operator, other.certificate.id)).rejects.toThrow(/disabled/);
    expect(await db().certificate.findUniqueOrThrow({ where: { id: other.certificate.id } })).toMatchObject({ status: "revoked", revocationReason: 6 });
    await updateDevice(operator, disabled.id, { status: "active" });
    await expect(unholdCertificate(operator, other.certificate.id)).resolves.toMatchObject({ status: "active" });
  });

  it("accepts device names only as long as a certificate CN may be (64), with a message that says why", async () => {
    const at64 = "n".repeat(64);
    const device = await createDevice(operator, ZNewDevice.parse({ name: at64 }));
    const out = await issue(device.id);
    expect(out.certificate.subject).toContain(at64);
    const before = await db().device.count();
    const refused = ZNewDevice.safeParse({ name: "n".repeat(65) });
    expect(refused.success).toBe(false);
    expect(refused.error!.issues[0].message).toMatch(/64 characters.*common name/);
    expect(await db().device.count()).toBe(before);
  });

  it("refuses device and broker certificates for CertFleet's own server names, and stores nothing", async () => {
    // Defaults here: CERTFLEET_TLS_HOSTS=localhost,127.0.0.1 and a public URL on localhost.
    const named = await createDevice(operator, { name: "localhost" });
    const gateway = await createDevice(operator, { name: "gateway-7" });
    const before = await db().certificate.count();
    const broker = (sans: { dns?: string[]; ip?: string[] }) =>
      issueDeviceCertificate(operator, gateway.id, ZIssueCertificate.parse({ generateKey: { algorithm: "EC-P256" }, profile: "broker-server", sans }));
    const refusal = (e: unknown) => (e instanceof AppError ? `${e.code}: ${e.message}` : String(e));
    expect(refusal(await issue(named.id).catch((e) => e))).toMatch(/^FORBIDDEN: The common name \(the device name\) "localhost" is one of CertFleet's own server names/);
    expect(refusal(await broker({ dns: ["LocalHost."] }).catch((e) => e))).toMatch(/^FORBIDDEN: The DNS name "LocalHost\." is one of CertFleet's own server names \(localhost/);
    expect(refusal(await broker({ dns: ["mqtt.example.net"], ip: ["127.0.0.1"] }).catch((e) => e))).toMatch(/^FORBIDDEN: The IP address "127\.0\.0\.1"/);
    expect(await db().certificate.count()).toBe(before);
    // Other names of the same host (a broker beside CertFleet) are fine.
    await expect(broker({ dns: ["mqtt.example.net", "x.localhost"], ip: ["127.0.0.2"] })).resolves.toMatchObject({ certificate: { profile: "broker-server" } });

    // A CSV import with generated credentials reports such a row (dry run and import) and creates the others.
    const chunk = { header: ["name"], rows: [{ line: 2, cells: ["LOCALHOST"] }, { line: 3, cells: ["import-ok-1"] }], credentials: { algorithm: "EC-P256" as const } };
    const preview = await previewImportChunk(operator, chunk);
    expect(preview.rows.map((r) => r.errors.map((e) => e.message).join())).toEqual([expect.stringMatching(/one of CertFleet's own server names/), ""]);
    const imported = await importChunk(operator, chunk);
    expect(imported.created).toBe(1);
    expect(imported.credentials?.map((c) => c.name)).toEqual(["import-ok-1"]);
    expect(await db().device.count({ where: { name: "LOCALHOST" } })).toBe(0);
  });

  it("lets one of twenty concurrent PSK rotations win, tells the others which key did, and keeps at most two keys live", async () => {
    const device = await createDevice(operator, { name: "psk-race" });
    await createOrRotatePsk(operator, device.id, {});
    for (const overlapSeconds of [0, 3600]) {
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => createOrRotatePsk(operator, device.id, { overlapSeconds })));
      const won = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
      const lost = results.filter((r) => r.status === "rejected").map((r) => r.reason as AppError);
      expect(won.length, `overlap ${overlapSeconds}`).toBeGreaterThanOrEqual(1);
      expect(won.length, `overlap ${overlapSeconds}: every caller was told its key is current`).toBeLessThan(20);
      for (const e of lost) {
        expect(e).toBeInstanceOf(AppError);
        expect(e.code).toBe("CONFLICT");
        expect(e.message).toMatch(/committed first: identity "psk-race(\.v\d+)?" \(version \d+\) is now current/);
      }
      const live = (await listDevicePsks(viewer, device.id)).filter((p) => p.status === "active");
      expect(live.length).toBeLessThanOrEqual(overlapSeconds ? 2 : 1);
      // The last winner's key is the current one.
      const last = won[won.length - 1];
      expect(live.find((p) => p.current)).toMatchObject({ identity: last.identity, version: last.version });
    }
    // Sequential rotations with overlap: still only the newest and the one it replaced are live.
    for (let i = 0; i < 3; i++) await createOrRotatePsk(operator, device.id, { overlapSeconds: 3600 });
    const live = (await listDevicePsks(viewer, device.id)).filter((p) => p.status === "active");
    expect(live.map((p) => p.current).sort()).toEqual([false, true]);
  });
});

describe("CSV export cells", () => {
  it("neutralises every cell a spreadsheet would read as a formula", () => {
    for (const formula of ["=1+1", "+1", "-1+cmd|' /C calc'!A0", "-2-2", "@SUM(A1)", "\tx", "\rx"]) {
      const cell = csvCell(formula);
      expect(cell.replace(/^"/, "").startsWith("'"), JSON.stringify(formula)).toBe(true);
    }
    expect(csvCell("truck-0001")).toBe("truck-0001");
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
  });
});
