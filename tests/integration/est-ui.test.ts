// EST in the operator console, in real Chromium against the real server: the device page creates
// a one-time secret shown once, the curl + OpenSSL commands it shows enroll and re-enroll the
// device as written, and the panel follows; the CAs page registers a bootstrap CA (a bad PEM
// stores nothing), attaches its CRL and saves a CA's EST settings; the inventory filters by
// enrollment. Each state is screenshotted (test-results/e2e) and checked by axe-core (WCAG 2 A/AA).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import type { Page } from "playwright-core";
import { startServer, type TestServer } from "../helpers/server";
import { api } from "../helpers/http";
import { Workdir } from "../helpers/openssl";
import { launchBrowser, newContext, screenshot, signIn, takeA11yViolations } from "../e2e/harness";
import { db, disconnectDb } from "@/lib/db";
import { resetConfigForTests } from "@/lib/config";

describe("EST in the console (real Chromium)", { timeout: 300_000 }, () => {
  let server: TestServer;
  let work: Workdir;
  let operator: string;
  let chrome: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;

  const cli = (...args: string[]) => execFileSync(process.execPath, ["cli/bin.mjs", ...args], { env: { ...process.env, ...server.env }, encoding: "utf8" }).trim();
  /** Runs a command block exactly as the page shows it, in the workdir. */
  const sh = (script: string) => {
    const r = spawnSync("bash", ["-euo", "pipefail", "-c", script], { cwd: work.dir, encoding: "utf8", timeout: 60_000 });
    expect(r.status, `${script}\n${r.stderr}${r.stdout}`).toBe(0);
  };
  const a11y = async (name: string) => {
    await screenshot(page, name);
    expect(takeA11yViolations()).toEqual([]);
  };

  beforeAll(async () => {
    server = await startServer("sqlite");
    process.env.DATABASE_URL = server.database.url;
    process.env.CERTFLEET_DATA_DIR = server.database.dataDir;
    resetConfigForTests();
    await disconnectDb();
    operator = cli("token", "create", "--name", "ops", "--role", "operator");
    work = new Workdir();
    chrome = await launchBrowser();
    page = await (await newContext(chrome.browser, server.url)).newPage();
    await signIn(page, "admin@test.local", "admin-password-1");
  }, 300_000);

  afterAll(async () => {
    await chrome?.close();
    await disconnectDb();
    work?.dispose();
    await server?.stop();
  });

  it("device page: a secret shown once enrolls with the shown curl command; the re-enroll command renews; the panel follows", async () => {
    const created = await api(server.url, operator, "POST", "/api/v1/devices", { name: "ui-sensor-1" });
    expect(created.status).toBe(201);
    const deviceId = created.data.id as string;
    const idle = await api(server.url, operator, "POST", "/api/v1/devices", { name: "ui-sensor-idle" });
    expect(idle.status).toBe(201);

    await page.goto(`/devices/${deviceId}`);
    const panel = page.getByTestId("est-panel");
    await expect.poll(() => panel.getByTestId("est-mode").textContent()).toMatch(/Never enrolled/);
    await a11y("device-est-never");

    await panel.getByTestId("est-create-secret").click();
    const dialog = page.getByTestId("est-secret-dialog");
    await dialog.waitFor();
    await a11y("device-est-secret-dialog");
    const username = (await dialog.getByTestId("est-secret-username").textContent())!;
    const password = (await dialog.getByTestId("est-secret-password").textContent())!;
    expect(username).toBe("ui-sensor-1");
    expect(password.length).toBeGreaterThanOrEqual(22);
    expect(await dialog.getByTestId("est-secret-url").textContent()).toBe(`${server.httpsUrl}/.well-known/est/issuing-1/simpleenroll`);
    // Stored hashed only; audited without it.
    const stored = await db().enrollmentSecret.findFirstOrThrow({ where: { deviceId } });
    expect(stored.secretHash).not.toContain(password);
    expect(JSON.stringify(await db().auditEvent.findMany({ where: { targetId: deviceId } }))).not.toContain(password);
    const strongswan = (await dialog.getByTestId("est-enroll-strongswan").textContent())!;
    expect(strongswan).toContain(`pki --est --url ${server.httpsUrl} `);
    expect(strongswan).toContain(`--userpass '${username}:${password}'`);

    // The curl + OpenSSL block, run as shown: fetches the chain, makes a key and CSR, enrolls.
    sh((await dialog.getByTestId("est-enroll-curl").textContent())!);
    expect(work.ok(["verify", "-CAfile", work.path("chain.pem"), work.path("device.pem")])).toMatch(/OK/);
    expect(work.ok(["x509", "-in", work.path("device.pem"), "-noout", "-subject"])).toMatch(/CN = ui-sensor-1/);

    await page.getByTestId("est-secret-close").click();
    await page.reload();
    await expect.poll(() => panel.getByTestId("est-mode").textContent()).toMatch(/Re-enrolls by itself/);
    expect(await panel.getByTestId("est-last").textContent()).toMatch(/one-time secret/);
    // Shown once: nowhere on the page any more.
    expect(await page.content()).not.toContain(password);
    await a11y("device-est-enrolled");

    // The re-enroll command, as shown (new key, the certificate's subject, the old pair as TLS identity).
    const firstSerial = work.ok(["x509", "-in", work.path("device.pem"), "-noout", "-serial"]);
    await panel.getByText("Re-enroll command").click();
    sh((await panel.getByTestId("est-reenroll-curl").textContent())!);
    expect(work.ok(["x509", "-in", work.path("device.pem"), "-noout", "-serial"])).not.toBe(firstSerial);
    expect(work.ok(["verify", "-CAfile", work.path("chain.pem"), work.path("device.pem")])).toMatch(/OK/);
    await page.reload();
    await expect.poll(() => panel.getByTestId("est-last").textContent()).toMatch(/re-enrollment/);
    expect((await db().device.findUniqueOrThrow({ where: { id: deviceId } })).estEnrolledBy).toBe("reenroll");

    // Inventory: "never enrolled" and "re-enrolls itself".
    await page.goto("/devices");
    await page.getByLabel("EST enrollment").selectOption("self");
    await page.waitForURL(/est=self/);
    await expect.poll(() => page.getByRole("link", { name: "ui-sensor-1", exact: true }).count()).toBe(1);
    expect(await page.getByRole("link", { name: "ui-sensor-idle", exact: true }).count()).toBe(0);
    await a11y("inventory-est-self");
    await page.getByLabel("EST enrollment").selectOption("never");
    await page.waitForURL(/est=never/);
    await expect.poll(() => page.getByRole("link", { name: "ui-sensor-idle", exact: true }).count()).toBe(1);
    expect(await page.getByRole("link", { name: "ui-sensor-1", exact: true }).count()).toBe(0);
  });

  it("CAs page: a bad PEM stores nothing; a good one (uploaded) registers; its CRL attaches; EST settings save", async () => {
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ui-mfr.key", "-out", "ui-mfr.pem", "-subj", "/O=Acme/CN=Acme UI IDevID CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    await page.goto("/cas");
    await page.getByTestId("bootstrap-register").click();
    let dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("acme-ui");
    await dialog.getByLabel("CA certificate (PEM)").fill("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
    const auditBefore = await db().auditEvent.count();
    await dialog.getByTestId("bootstrap-submit").click();
    await dialog.getByText("Not a PEM certificate").waitFor();
    await a11y("cas-bootstrap-bad-pem");
    expect(await db().bootstrapCa.count()).toBe(0);
    expect(await db().auditEvent.count()).toBe(auditBefore);

    // The form starts over after a submission (React resets uncontrolled fields).
    await dialog.getByLabel("Name").fill("acme-ui");
    await dialog.getByLabel("Upload a file…").setInputFiles(work.path("ui-mfr.pem"));
    await expect.poll(() => dialog.getByLabel("CA certificate (PEM)").inputValue()).toContain("BEGIN CERTIFICATE");
    await dialog.getByLabel("How a certificate finds its device").selectOption("cn-as-external-id");
    await dialog.getByLabel("Create unknown devices on their first enrollment").check();
    await dialog.getByLabel("Tags for created devices").fill("acme, line-7");
    await dialog.getByTestId("bootstrap-submit").click();
    const item = page.getByTestId("bootstrap-ca-acme-ui");
    await item.waitFor();
    const row = await db().bootstrapCa.findUniqueOrThrow({ where: { name: "acme-ui" } });
    expect(row).toMatchObject({ lookup: "cn-as-external-id", allowCreate: true, tags: JSON.stringify(["acme", "line-7"]) });
    work.ok(["x509", "-in", "ui-mfr.pem", "-outform", "DER", "-out", "ui-mfr.der"]);
    expect(Buffer.from(row.certificateDer).equals(work.read("ui-mfr.der"))).toBe(true);
    await a11y("cas-bootstrap-registered");

    // A CRL made by `openssl ca -gencrl`, uploaded as DER.
    work.file("ui-index.txt", "");
    work.file("ui-ca.cnf", `[ca]\ndefault_ca=d\n[d]\ndatabase=${work.path("ui-index.txt")}\ndefault_md=sha256\ndefault_crl_days=7\ncrlnumber=${work.file("ui-crlnumber", "01\n")}\n`);
    work.ok(["ca", "-gencrl", "-config", work.path("ui-ca.cnf"), "-keyfile", work.path("ui-mfr.key"), "-cert", work.path("ui-mfr.pem"), "-out", work.path("ui.crl.pem")]);
    work.ok(["crl", "-in", work.path("ui.crl.pem"), "-outform", "DER", "-out", work.path("ui.crl")]);
    await item.getByTestId("bootstrap-crl-acme-ui").click();
    dialog = page.getByRole("dialog");
    await dialog.getByLabel("Upload a file…").setInputFiles(work.path("ui.crl"));
    await dialog.getByTestId("bootstrap-crl-submit").click();
    await expect.poll(() => item.getByTestId("bootstrap-crl-state-acme-ui").textContent()).toMatch(/0 revoked · next update/);
    expect((await db().bootstrapCa.findUniqueOrThrow({ where: { name: "acme-ui" } })).crlNextUpdate).not.toBeNull();

    // EST settings of the issuing CA.
    const settings = page.getByTestId("est-settings-issuing-1");
    await settings.getByLabel("Re-enroll grace after expiry (days)").fill("5");
    await settings.getByLabel("Revoke the old certificate (superseded)").check();
    await settings.getByTestId("est-settings-save-issuing-1").click();
    await expect.poll(async () => (await db().certificateAuthority.findUniqueOrThrow({ where: { slug: "issuing-1" } })).estReenrollGraceDays).toBe(5);
    expect((await db().certificateAuthority.findUniqueOrThrow({ where: { slug: "issuing-1" } })).estRevokeSuperseded).toBe(true);
    await a11y("cas-est-settings");

    // Remove.
    await item.getByTestId("bootstrap-delete-acme-ui").click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => db().bootstrapCa.count()).toBe(0);
  });
});
