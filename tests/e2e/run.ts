// End-to-end tests of the operator dashboard: the production build with the demo fleet, driven
// through Debian's Chromium. `npm run test:e2e`; screenshots land in test-results/e2e/.
// Database checks read the same SQLite file through Prisma with conditions written here, not the
// app's own query helpers, so a wrong predicate in the app cannot agree with itself.
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { ADMIN, assert, assertEqual, ensureChromium, launchBrowser, newContext, runTests, screenshot, signIn, startServer, test } from "./harness";

const DAY = 86_400_000;
const VIEWER = { email: "viewer@e2e.local", password: "viewer-password-e2e-1" };
const started = Date.now();

ensureChromium();
console.log("[e2e] starting the production server with the demo fleet…");
const server = await startServer();
process.env.DATABASE_URL = server.databaseUrl;
process.env.CERTFLEET_DATA_DIR = server.dataDir;
const { db, disconnectDb } = await import("../../lib/db");
const chrome = await launchBrowser();
const adminCtx = await newContext(chrome.browser, server.url);
const page = await adminCtx.newPage();
console.log(`[e2e] server ${server.url} up after ${((Date.now() - started) / 1000).toFixed(1)} s`);

/** A renew request captured from the admin's browser, replayed later from the viewer's session. */
let capturedRenew: { url: string; headers: Record<string, string>; body: string } | null = null;
page.on("request", (r) => {
  const h = r.headers();
  if (r.method() === "POST" && h["next-action"] && (r.postData() ?? "").includes('"rekey":false')) {
    capturedRenew = { url: r.url(), headers: h, body: r.postData() ?? "" };
  }
});

const inService = { status: { not: "decommissioned" } };

/** Serials listed by `openssl crl -text`, upper-case hex without leading zero bytes. */
function crlSerials(text: string): string[] {
  return [...text.matchAll(/Serial Number:\s*([0-9A-Fa-f:]+)/g)].map((m) => m[1].replace(/:/g, "").toUpperCase().replace(/^(00)+/, ""));
}

/** Reads a ZIP of stored (uncompressed) entries, checking each CRC-32: enough for the credential archive. */
function readStoredZip(buf: Buffer): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  let p = 0;
  while (buf.readUInt32LE(p) === 0x04034b50) {
    assertEqual(buf.readUInt16LE(p + 8), 0, "compression method (stored)");
    const crc = buf.readUInt32LE(p + 14);
    const size = buf.readUInt32LE(p + 18);
    const nameLen = buf.readUInt16LE(p + 26);
    const extraLen = buf.readUInt16LE(p + 28);
    const name = buf.subarray(p + 30, p + 30 + nameLen).toString("utf8");
    const data = buf.subarray(p + 30 + nameLen + extraLen, p + 30 + nameLen + extraLen + size);
    assertEqual(crc32(data) >>> 0, crc, `CRC of ${name}`);
    out[name] = data;
    p += 30 + nameLen + extraLen + size;
  }
  assertEqual(buf.readUInt32LE(p), 0x02014b50, "central directory follows the entries");
  return out;
}

async function kpi(p: Page, id: string): Promise<number> {
  return Number(await p.getByTestId(`kpi-${id}`).locator("[data-value]").getAttribute("data-value"));
}

/** A device with an active, unexpired current certificate and a given key source. */
async function pickDevice(opts: { withPsk?: boolean; skip?: string[] } = {}) {
  const d = await db().device.findFirst({
    where: { status: "active", certNotAfter: { gt: new Date(Date.now() + 40 * DAY) }, hasPsk: opts.withPsk ?? false, id: { notIn: opts.skip ?? [] } },
    orderBy: { name: "asc" },
  });
  assert(d && d.currentCertId, "no suitable demo device");
  return d;
}

test("sign in", async () => {
  await page.goto("/");
  await page.waitForURL(/\/login/);
  await screenshot(page, "01-login");
  await signIn(page, ADMIN.email, ADMIN.password);
  assertEqual(await page.getByTestId("who").textContent(), ADMIN.email, "signed-in user");
});

test("overview: counts and expiry chart match the database", async () => {
  await page.goto("/");
  await page.getByTestId("expiry-chart").waitFor();
  const now = new Date();
  const d = db().device;
  const within = (days: number) => d.count({ where: { ...inService, certNotAfter: { gt: now, lte: new Date(now.getTime() + days * DAY) } } });
  const expected = {
    devices: await d.count(),
    valid: await d.count({ where: { ...inService, certNotAfter: { gt: now } } }),
    expiring7: await within(7),
    expiring30: await within(30),
    expiring90: await within(90),
    expired: await d.count({ where: { ...inService, certNotAfter: { lte: now } } }),
    revoked: await d.count({ where: { currentCertId: { not: null }, OR: [{ certNotAfter: null }, { status: "decommissioned" }] } }),
    psk: await d.count({ where: { hasPsk: true } }),
  };
  for (const [id, value] of Object.entries(expected)) assertEqual(await kpi(page, id), value, `KPI ${id}`);
  assert(expected.expiring30 > 0 && expected.expired > 0, "the demo fleet should have expiring and expired certificates");

  // 53 bars: past due, then 52 weeks starting today (UTC). Their counts are the database's.
  const bars = await page.locator("[data-bar]").evaluateAll((els) => els.map((e) => ({ key: e.getAttribute("data-bar")!, count: Number(e.getAttribute("data-count")) })));
  assertEqual(bars.length, 53, "bars in the chart");
  assertEqual(bars[0].count, expected.expired, "past-due bar");
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (const [i, bar] of bars.slice(1).entries()) {
    const start = new Date(today + i * 7 * DAY);
    const end = new Date(today + (i + 1) * 7 * DAY);
    assertEqual(bar.key, start.toISOString().slice(0, 10), `week ${i} start`);
    const count = await d.count({ where: { ...inService, certNotAfter: { gt: i === 0 ? now : undefined, gte: i === 0 ? undefined : start, lt: end } } });
    assertEqual(bar.count, count, `week ${i} (${bar.key}) count`);
  }
  await screenshot(page, "02-overview");

  // A count links to exactly the devices it counts.
  await page.getByTestId("kpi-expiring7").click();
  await page.waitForURL(/within=7/);
  assertEqual(await page.getByTestId("match-count").textContent().then((t) => Number(t!.replace(/\D/g, ""))), expected.expiring7, "inventory behind the 7-day KPI");
});

test("inventory: search and 'expiring within 30 days' find the right devices", async () => {
  await page.goto("/devices");
  await page.getByTestId("inventory").waitFor();
  await page.getByLabel("Certificate", { exact: true }).selectOption("within:30");
  await page.waitForURL(/within=30/);
  await page.getByTestId("device-row").first().waitFor();
  const now = Date.now();
  const rows = await page.getByTestId("device-row").evaluateAll((els) => els.map((e) => e.getAttribute("data-name")!));
  const expectedNames = (
    await db().device.findMany({ where: { ...inService, certNotAfter: { gt: new Date(now), lte: new Date(now + 30 * DAY) } }, orderBy: { name: "asc" }, take: 50, select: { name: true } })
  ).map((r) => r.name);
  assertEqual(rows.join(","), expectedNames.join(","), "first page of devices expiring within 30 days");
  const total = await db().device.count({ where: { ...inService, certNotAfter: { gt: new Date(now), lte: new Date(now + 30 * DAY) } } });
  assertEqual(await page.getByTestId("match-count").textContent().then((t) => Number(t!.replace(/\D/g, ""))), total, "match count");

  // Search (name prefix) narrows within the filter, and the URL carries both.
  await page.getByLabel("Search devices").fill("demo-gateway-00");
  await page.waitForURL(/q=demo-gateway-00/);
  await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=device-row]")].every((r) => r.getAttribute("data-name")!.startsWith("demo-gateway-00")));
  const both = await db().device.count({ where: { ...inService, name: { startsWith: "demo-gateway-00" }, certNotAfter: { gt: new Date(now), lte: new Date(now + 30 * DAY) } } });
  assertEqual(await page.getByTestId("match-count").textContent().then((t) => Number(t!.replace(/\D/g, ""))), both, "search + filter count");
  await screenshot(page, "03-devices-filtered");

  // A serial prefix finds its device (a shared link with only ?q= reproduces the view).
  const target = await pickDevice();
  const cert = await db().certificate.findUniqueOrThrow({ where: { id: target.currentCertId! } });
  await page.goto(`/devices?q=${cert.serialHex.slice(0, 12)}`);
  const found = await page.getByTestId("device-row").evaluateAll((els) => els.map((e) => e.getAttribute("data-name")));
  assertEqual(found.join(","), target.name, "device found by serial prefix");
});

let renewed: { deviceId: string; certId: string; oldCertId: string; name: string } | null = null;

test("device page: one click on Renew issues a later-expiring certificate", async () => {
  const device = await pickDevice();
  const old = await db().certificate.findUniqueOrThrow({ where: { id: device.currentCertId! } });
  await page.goto(`/devices/${device.id}`);
  await page.getByTestId("device-name").waitFor();
  await screenshot(page, "04-device");
  await page.getByTestId("renew").click();
  await page.getByText("Certificate renewed").first().waitFor();
  await page.waitForFunction((iso) => document.querySelector("[data-testid=current-not-after]")?.getAttribute("data-iso") !== iso, old.notAfter.toISOString());

  const after = await db().device.findUniqueOrThrow({ where: { id: device.id } });
  assert(after.currentCertId && after.currentCertId !== old.id, "device points at a new certificate");
  const fresh = await db().certificate.findUniqueOrThrow({ where: { id: after.currentCertId } });
  assert(fresh.notAfter > old.notAfter, `new notAfter ${fresh.notAfter.toISOString()} is later than ${old.notAfter.toISOString()}`);
  assertEqual((await db().certificate.findUniqueOrThrow({ where: { id: old.id } })).status, "superseded", "old certificate status");
  assertEqual(await page.getByTestId("current-not-after").getAttribute("data-iso"), fresh.notAfter.toISOString(), "expiry shown on the page");
  assertEqual(await page.getByTestId("current-serial").textContent(), fresh.serialHex, "serial shown on the page");
  assert(capturedRenew, "the renew server-action request was observed");
  renewed = { deviceId: device.id, certId: fresh.id, oldCertId: old.id, name: device.name };
});

test("device page: revoke with a reason shows revoked and puts the serial on the CRL", async () => {
  assert(renewed, "needs the renewed device");
  await page.goto(`/devices/${renewed.deviceId}`);
  await page.getByTestId("revoke").click();
  const dialog = page.getByRole("dialog");
  assert(await dialog.getByTestId("revoke-confirm").isDisabled(), "revoke needs a reason first");
  await dialog.getByLabel("Reason").selectOption("keyCompromise");
  await screenshot(page, "05-revoke-dialog");
  await dialog.getByTestId("revoke-confirm").click();
  await page.getByTestId("device-cert-state").getByText("Revoked").waitFor();
  const cert = await db().certificate.findUniqueOrThrow({ where: { id: renewed.certId } });
  assertEqual(cert.status, "revoked", "certificate status");
  assertEqual(cert.revocationReason, 1, "reason code (keyCompromise)");

  // The CRL is re-signed after a revocation (debounced): poll it for a few seconds.
  const serial = cert.serialHex.toUpperCase().replace(/^(00)+/, "");
  const dir = mkdtempSync(path.join(tmpdir(), "certfleet-e2e-crl-"));
  let text = "";
  try {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${server.url}/pki/crl/issuing-1.pem`);
      assert(res.ok, `GET /pki/crl/issuing-1.pem answered ${res.status}`);
      writeFileSync(path.join(dir, "crl.pem"), await res.text());
      text = execFileSync("openssl", ["crl", "-in", path.join(dir, "crl.pem"), "-noout", "-text"], { encoding: "utf8" });
      if (crlSerials(text).includes(serial)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert(crlSerials(text).includes(serial), `serial ${serial} is on the CRL (${crlSerials(text).length} entries)`);
  assert(/Key Compromise/i.test(text), "the CRL entry carries the reason");
});

test("PSK: the secret is shown once and a reload does not show it again", async () => {
  const device = await pickDevice({ withPsk: false, skip: renewed ? [renewed.deviceId] : [] });
  await page.goto(`/devices/${device.id}`);
  await page.getByTestId("psk-create").click();
  const key = (await page.getByTestId("psk-secret-key").textContent())!;
  assert(/^[0-9a-f]{64}$/.test(key), `key looks like a PSK secret (${key.length} chars)`);
  const keyHex = (await page.getByTestId("psk-secret-keyhex").textContent())!;
  assertEqual(keyHex, Buffer.from(key, "ascii").toString("hex"), "hex form is hex(ASCII(key))");
  await screenshot(page, "06-psk-once");
  const row = await db().psk.findFirst({ where: { deviceId: device.id, status: "active" } });
  assert(row && row.sealedSecret && !row.sealedSecret.includes(key), "PSK stored sealed, not in plaintext");

  await page.reload();
  await page.getByTestId("psk-identity").waitFor();
  assertEqual(await page.getByTestId("psk-secret").count(), 0, "secret box after reload");
  assert(!(await page.content()).includes(key), "the key is nowhere in the reloaded page");
});

test("CSV import: bad rows show in the dry run; only a confirmed import writes", async () => {
  const existing = await db().device.findFirstOrThrow({ orderBy: { name: "asc" } });
  const csv = [
    "name,external_id,tags,site",
    "e2e-import-001,E2E-1,sensor;site:test,lab",
    "e2e-import-002,E2E-2,gateway,lab",
    "bad name with spaces,E2E-3,sensor,lab",
    `${existing.name},E2E-4,sensor,lab`,
    "e2e-import-001,E2E-5,sensor,lab",
    "e2e-import-003,,meter,lab",
  ].join("\n");
  await page.goto("/devices/import");
  // A file chosen before React has hydrated the page fires a change event nobody listens to (a
  // person is never that fast; a test is): choose it again until the dry run starts.
  for (let attempt = 0; ; attempt++) {
    await page.locator("#csv-file").setInputFiles({ name: "fleet.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    const started = await page.getByTestId("import-preview").or(page.getByTestId("dry-run-progress")).first().waitFor({ timeout: 3000 }).then(() => true, () => false);
    if (started || attempt === 4) break;
  }
  await page.getByTestId("import-preview").waitFor();
  assertEqual(await page.getByTestId("will-create").textContent(), "3", "rows that would be created");
  assertEqual(await page.getByTestId("have-errors").textContent(), "3", "rows with errors");
  const errorLines = await page.getByTestId("error-rows").locator("tr[data-line]").evaluateAll((els) => els.map((e) => e.getAttribute("data-line")));
  assertEqual(errorLines.join(","), "4,5,6", "lines reported as bad");
  const errorsText = (await page.getByTestId("error-rows").textContent())!;
  assert(/already exists/.test(errorsText) && /Duplicate of line 2/.test(errorsText), "the reasons are shown");
  await screenshot(page, "07-import-dry-run");
  assertEqual(await db().device.count({ where: { name: { startsWith: "e2e-import-" } } }), 0, "dry run wrote nothing");

  await page.getByTestId("confirm-import").click();
  await page.getByTestId("import-done").waitFor();
  assertEqual(await page.getByTestId("imported-count").textContent(), "3 devices created.", "import summary");
  const names = (await db().device.findMany({ where: { name: { startsWith: "e2e-import-" } }, orderBy: { name: "asc" } })).map((d) => d.name);
  assertEqual(names.join(","), "e2e-import-001,e2e-import-002,e2e-import-003", "imported devices");
  assertEqual(await db().device.count({ where: { externalId: { in: ["E2E-3", "E2E-4", "E2E-5"] } } }), 0, "bad rows not imported");
  await screenshot(page, "08-import-done");

  // With server-generated credentials: one ZIP, whose keys match certificates that chain to the CA.
  await page.getByRole("button", { name: "Import another file" }).click();
  await page.getByLabel(/Issue a certificate with a server-generated key/).check();
  await page.locator("#csv-file").setInputFiles({ name: "creds.csv", mimeType: "text/csv", buffer: Buffer.from("name,tags\ne2e-cred-001,sensor\ne2e-cred-002,sensor\n") });
  await page.getByTestId("import-preview").waitFor();
  await page.getByTestId("confirm-import").click();
  await page.getByTestId("import-done").waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-credentials").click()]);
  const dir = mkdtempSync(path.join(tmpdir(), "certfleet-e2e-zip-"));
  try {
    const zipFile = path.join(dir, "creds.zip");
    await download.saveAs(zipFile);
    const files = readStoredZip(readFileSync(zipFile));
    assertEqual(Object.keys(files).sort().join(","), "README.txt,ca-chain.pem,e2e-cred-001/e2e-cred-001.crt.pem,e2e-cred-001/e2e-cred-001.key.pem,e2e-cred-002/e2e-cred-002.crt.pem,e2e-cred-002/e2e-cred-002.key.pem", "archive entries");
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, name.replace("/", "_")), data);
    for (const n of ["e2e-cred-001", "e2e-cred-002"]) {
      const crt = path.join(dir, `${n}_${n}.crt.pem`);
      const key = path.join(dir, `${n}_${n}.key.pem`);
      const verify = execFileSync("openssl", ["verify", "-CAfile", path.join(dir, "ca-chain.pem"), crt], { encoding: "utf8" });
      assert(/: OK/.test(verify), `openssl verify ${n}: ${verify}`);
      const fromKey = execFileSync("openssl", ["pkey", "-in", key, "-pubout"], { encoding: "utf8" });
      const fromCert = execFileSync("openssl", ["x509", "-in", crt, "-pubkey", "-noout"], { encoding: "utf8" });
      assertEqual(fromKey, fromCert, `${n}: key matches certificate`);
      const device = await db().device.findUniqueOrThrow({ where: { name: n } });
      const cert = await db().certificate.findUniqueOrThrow({ where: { id: device.currentCertId! } });
      assertEqual(cert.keySource, "generated", `${n}: key source`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bulk: renew two selected devices; revoke all devices matching a filter", async () => {
  await page.goto("/devices?tag=meter&within=90&sort=expiry&dir=desc");
  await page.getByTestId("device-row").first().waitFor();
  const picked = await page.getByTestId("device-row").evaluateAll((els) => els.slice(0, 2).map((e) => e.getAttribute("data-name")!));
  const before = await db().device.findMany({ where: { name: { in: picked } }, select: { id: true, name: true, currentCertId: true, certNotAfter: true } });
  for (const name of picked) await page.getByLabel(`Select ${name}`).check();
  await page.getByRole("button", { name: "Renew 2" }).click();
  await page.getByRole("dialog").getByText("same public key").waitFor();
  await page.getByTestId("bulk-confirm").click();
  await page.getByTestId("bulk-progress").getByText("Finished").waitFor();
  assertEqual(await page.getByTestId("bulk-done").textContent(), "2", "renewed in bulk");
  await screenshot(page, "13-bulk-renew");
  await page.getByRole("dialog").getByRole("button", { name: "Close", exact: true }).click();
  for (const b of before) {
    const after = await db().device.findUniqueOrThrow({ where: { id: b.id } });
    assert(after.currentCertId !== b.currentCertId && after.certNotAfter! > b.certNotAfter!, `${b.name} got a later certificate`);
  }

  // "Select all matching" spans pages: 25 cameras match, 10 per page.
  const q = "demo-camera-002";
  await page.goto(`/devices?q=${q}&limit=10`);
  await page.getByLabel("Select all devices on this page").check();
  await page.getByRole("button", { name: /Select all 25 matching/ }).click();
  await page.getByRole("button", { name: "Revoke 25" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Reason").selectOption("cessationOfOperation");
  assert(await dialog.getByTestId("bulk-confirm").isDisabled(), "revoke needs the typed confirmation");
  await dialog.getByLabel(/to confirm/).fill("revoke 25");
  await dialog.getByTestId("bulk-confirm").click();
  await dialog.getByText("Finished").waitFor();
  const stillActive = await db().device.count({ where: { name: { contains: q }, currentCertId: { not: null }, certNotAfter: { not: null }, status: { not: "decommissioned" } } });
  assertEqual(stillActive, 0, "devices matching the filter with an unrevoked current certificate");
  await dialog.getByRole("button", { name: "Close", exact: true }).click();
});

test("CAs, audit log (verify chain) and settings render", async () => {
  await page.goto("/cas");
  await page.getByTestId("ca-issuing-1").waitFor();
  await page.getByTestId("crl-state-issuing-1").waitFor();
  await screenshot(page, "09-cas");
  await page.goto("/audit");
  await page.getByTestId("audit-table").waitFor();
  await page.getByTestId("verify-chain").click();
  await page.getByTestId("chain-verdict").getByText("Chain intact").waitFor();
  await screenshot(page, "10-audit");
  const csv = await page.request.get("/api/v1/devices/export?within=30");
  assertEqual(csv.status(), 200, "CSV export status");
  const lines = (await csv.text()).trim().split(/\r?\n/);
  const now = Date.now();
  assertEqual(lines.length - 1, await db().device.count({ where: { ...inService, certNotAfter: { gt: new Date(now), lte: new Date(now + 30 * DAY) } } }), "exported rows");
});

test("viewer: no Renew/Revoke controls, and a forged server action is refused", async () => {
  await page.goto("/settings");
  await page.getByTestId("add-user").click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Email").fill(VIEWER.email);
  await dialog.getByLabel("Role").selectOption("viewer");
  await dialog.getByLabel("Password (optional)").fill(VIEWER.password);
  await dialog.getByRole("button", { name: "Add user" }).click();
  await page.locator(`tr[data-email="${VIEWER.email}"]`).waitFor();
  await screenshot(page, "11-settings");

  const viewerCtx = await newContext(chrome.browser, server.url);
  const vp = await viewerCtx.newPage();
  try {
    await signIn(vp, VIEWER.email, VIEWER.password);
    const device = await pickDevice({ skip: renewed ? [renewed.deviceId] : [] });
    await vp.goto(`/devices/${device.id}`);
    await vp.getByTestId("device-name").waitFor();
    assertEqual(await vp.getByTestId("renew").count(), 0, "Renew buttons for a viewer");
    assertEqual(await vp.getByTestId("revoke").count(), 0, "Revoke buttons for a viewer");
    assertEqual(await vp.getByRole("button", { name: /Decommission|Issue certificate|Create PSK/ }).count(), 0, "other mutation controls");
    await screenshot(vp, "12-viewer-device");
    await vp.goto("/devices");
    assertEqual(await vp.getByRole("checkbox").count(), 0, "bulk selection for a viewer");

    // Replay the admin's renew action from the viewer's session, aimed at an active certificate.
    assert(capturedRenew, "a renew request was captured");
    const before = await db().certificate.count({ where: { deviceId: device.id } });
    // The page binds the certificate id into the action (`.bind(null, id)`): it travels as the
    // first argument of the request body, and a client can put any id there.
    assert(renewed && capturedRenew.body.includes(`"${renewed.oldCertId}"`), "the captured request carries the renewed certificate's id");
    const body = capturedRenew.body.replaceAll(`"${renewed.oldCertId}"`, `"${device.currentCertId}"`);
    assert(body.includes(device.currentCertId!), "forged body targets the viewer's device");
    const headers = Object.fromEntries(Object.entries(capturedRenew.headers).filter(([k]) => !["cookie", "content-length", "host"].includes(k)));
    const res = await vp.request.post(capturedRenew.url, { headers, data: body });
    const text = await res.text();
    assert(/FORBIDDEN/.test(text) && /viewer role may not/.test(text), `the action refused the viewer (HTTP ${res.status()}): ${text.slice(0, 300)}`);
    assertEqual(await db().certificate.count({ where: { deviceId: device.id } }), before, "no certificate was issued");
    assertEqual((await db().certificate.findUniqueOrThrow({ where: { id: device.currentCertId! } })).status, "active", "certificate untouched");
  } finally {
    await viewerCtx.close();
  }
});

test("notifications: a webhook channel shows its secret once, Send test reaches a real receiver that checks the signature, a rule is listed", async () => {
  const received: { signature: string; body: string }[] = [];
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ signature: String(req.headers["x-certfleet-signature"] ?? ""), body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await page.goto("/settings");
    await page.getByTestId("new-channel").click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("e2e-hook");
    await dialog.getByLabel("URL").fill(url);
    await screenshot(page, "a11y-dialog-new-channel");
    await dialog.getByRole("button", { name: "Create channel" }).click();
    const secret = (await dialog.getByTestId("channel-secret").textContent())?.trim() ?? "";
    assert(/^whsec_/.test(secret), `the secret is shown once (${secret.slice(0, 6)}…)`);
    await dialog.getByRole("button", { name: "Done" }).click();
    const row = page.locator('tr[data-channel="e2e-hook"]');
    await row.waitFor();
    assert(!(await page.content()).includes(secret), "the secret is not on the page any more");
    await row.getByRole("button", { name: "Send test" }).click();
    await page.getByText("Test sent to e2e-hook").waitFor();
    assertEqual(received.length, 1, "requests at the receiver");
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(received[0].signature);
    assert(m, `signature header: ${received[0].signature}`);
    assertEqual(m[2], createHmac("sha256", secret).update(`${m[1]}.${received[0].body}`).digest("hex"), "HMAC-SHA256 over t.body");
    await page.locator('[data-testid="deliveries-table"] tr[data-delivery-outcome="success"]').first().waitFor();

    await page.getByTestId("new-rule").click();
    await dialog.getByLabel("Name").fill("e2e-expiry");
    await dialog.getByRole("button", { name: "Create rule" }).click();
    await page.locator('tr[data-rule="e2e-expiry"]').waitFor();
    assertEqual(await db().notificationRule.count({ where: { name: "e2e-expiry", kind: "certificate-expiry", thresholds: "[30,7,1]" } }), 1, "the rule in the database");
    await screenshot(page, "14-notifications");
  } finally {
    await new Promise((r) => receiver.close(r));
  }
});

test("accessibility: every page for an admin and a viewer, and the dialogs open (axe-core, WCAG 2 A/AA)", async () => {
  const pskDevice = await db().device.findFirst({ where: { hasPsk: true, status: "active" }, orderBy: { name: "asc" } });
  assert(pskDevice, "the demo fleet has a device with a PSK");
  const device = await pickDevice({ skip: renewed ? [renewed.deviceId] : [] });
  const pages: [string, string, string][] = [
    ["/", "expiry-chart", "a11y-overview"],
    ["/devices", "inventory", "a11y-devices"],
    ["/devices?hasPsk=true", "inventory", "a11y-devices-psk"],
    [`/devices/${pskDevice.id}`, "psk-panel", "a11y-device-psk"],
    ["/devices/import", "", "a11y-import"],
    ["/cas", "", "a11y-cas"],
    ["/brokers", "", "a11y-brokers"],
    ["/audit", "audit-table", "a11y-audit"],
    ["/settings", "users-table", "a11y-settings"],
  ];
  for (const [url, ready, name] of pages) {
    await page.goto(url);
    if (ready) await page.getByTestId(ready).first().waitFor();
    await screenshot(page, name);
  }
  // Dialogs, open: new device, add user, revoke, the bulk dialog.
  await page.goto("/devices");
  await page.getByRole("button", { name: /New device/ }).click();
  await page.getByRole("dialog").waitFor();
  await screenshot(page, "a11y-dialog-new-device");
  await page.keyboard.press("Escape");
  await page.goto(`/devices/${device.id}`);
  await page.getByTestId("revoke").first().click();
  await page.getByRole("dialog").waitFor();
  await screenshot(page, "a11y-dialog-revoke");
  await page.keyboard.press("Escape");
  await page.goto("/settings");
  await page.getByTestId("add-user").click();
  await page.getByRole("dialog").waitFor();
  await screenshot(page, "a11y-dialog-add-user");
  await page.keyboard.press("Escape");

  const viewerCtx = await newContext(chrome.browser, server.url);
  const vp = await viewerCtx.newPage();
  try {
    await signIn(vp, VIEWER.email, VIEWER.password);
    for (const [url, ready, name] of pages.filter(([u]) => !u.startsWith("/devices/import") && u !== "/settings")) {
      await vp.goto(url);
      if (ready) await vp.getByTestId(ready).first().waitFor();
      await screenshot(vp, `${name}-viewer`);
    }
  } finally {
    await viewerCtx.close();
  }
});

test("keyboard: the device page's actions are reachable by Tab; a dialog keeps focus inside and gives it back", async () => {
  const device = await pickDevice({ skip: renewed ? [renewed.deviceId] : [] });
  await page.goto(`/devices/${device.id}`);
  await page.getByTestId("device-name").waitFor();
  await page.locator("body").click({ position: { x: 1, y: 1 } });
  const reached = new Set<string>();
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    const label = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? (el.dataset.testid ?? el.getAttribute("aria-label") ?? el.textContent ?? "").trim() : "";
    });
    reached.add(label);
    if (label === "revoke") break;
  }
  for (const want of ["renew", "revoke"]) assert(reached.has(want), `Tab reaches "${want}" (reached: ${[...reached].slice(0, 40).join(" | ")})`);

  // Open the revoke dialog from the keyboard; Tab and Shift+Tab stay inside it; Escape gives focus back.
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  for (const key of [...Array(12).fill("Tab"), ...Array(6).fill("Shift+Tab")]) {
    await page.keyboard.press(key);
    const inside = await page.evaluate(() => !!document.activeElement?.closest("dialog[open]"));
    assert(inside, `focus left the open dialog after ${key}`);
  }
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  const back = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid ?? document.activeElement?.tagName);
  assertEqual(back, "revoke", "focus after the dialog closed");
});

let result = { passed: 0, failed: 1 };
try {
  result = await runTests();
} finally {
  await adminCtx.close().catch(() => undefined);
  await chrome.close().catch(() => undefined);
  await disconnectDb().catch(() => undefined);
  if (result.failed) console.log(`[e2e] server log (tail):\n${server.logs().split("\n").slice(-40).join("\n")}`);
  await server.stop();
}
console.log(`[e2e] screenshots in test-results/e2e/ · ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed ? 1 : 0);
