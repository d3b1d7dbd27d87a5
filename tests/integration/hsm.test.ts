// CA keys on a PKCS#11 token, against SoftHSM2 and the real server: the hierarchy generated on the
// token on first start, issuance (CSR and generated key), revocation, CRL and OCSP checked by
// OpenSSL; pkcs11-tool's view of the keys; the database without key material; the CLI creating and
// importing token CAs; wrong PIN, missing token and a token lost while running.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import * as pkcs11js from "pkcs11js";
import { createTestDatabase } from "../helpers/databases";
import { launchServer, type TestServer } from "../helpers/server";
import { api } from "../helpers/http";
import { Workdir } from "../helpers/openssl";
import { launchBrowser, newContext, signIn } from "../e2e/harness";

const MODULE = "/usr/lib/softhsm/libsofthsm2.so";
const PIN = "4711-pin";

function cli(env: Record<string, string>, args: string[]) {
  return spawnSync(process.execPath, ["cli/bin.mjs", ...args], { env: { ...process.env, ...env }, encoding: "utf8" });
}

// Each test starts processes (the CLI through tsx, server restarts): limits for a loaded 2-core machine.
describe("CA keys on a PKCS#11 token (SoftHSM2)", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "certfleet-hsm-"));
  const tokens = path.join(dir, "tokens");
  const conf = path.join(dir, "softhsm2.conf");
  const label = `cf-${process.pid}`;
  const hsmEnv = { SOFTHSM2_CONF: conf, CERTFLEET_PKCS11_MODULE: MODULE, CERTFLEET_PKCS11_TOKEN_LABEL: label, CERTFLEET_PKCS11_PIN: PIN };
  let server: TestServer;
  let token: string;
  let work: Workdir;
  let dbFile: string;

  const post = (path: string, body: unknown) => api(server.url, token, "POST", path, body);
  const caRows = () => {
    const sqlite = new Database(dbFile, { readonly: true });
    try {
      return sqlite.prepare(`SELECT slug, sealedKey, keyRef FROM "CertificateAuthority" ORDER BY createdAt`).all() as { slug: string; sealedKey: string; keyRef: string | null }[];
    } finally {
      sqlite.close();
    }
  };
  const certificateCount = () => {
    const sqlite = new Database(dbFile, { readonly: true });
    try {
      return (sqlite.prepare(`SELECT count(*) AS n FROM "Certificate"`).get() as { n: number }).n;
    } finally {
      sqlite.close();
    }
  };
  const listKeys = () =>
    execFileSync("pkcs11-tool", ["--module", MODULE, "--token-label", label, "--login", "--pin", PIN, "--list-objects", "--type", "privkey"], { env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: "utf8" });
  const crlDer = async () => Buffer.from(await (await fetch(`${server.url}/pki/crl/issuing-1.crl`)).arrayBuffer());
  const crlNumber = (name: string) => Number(/CRL Number:\s*\n?\s*(\d+)/.exec(work.ok(["crl", "-inform", "DER", "-in", name, "-noout", "-text"]))![1]);
  const ocsp = (cert: string) => work.run(["ocsp", "-issuer", "issuing.pem", "-cert", cert, "-url", `${server.url}/pki/ocsp/issuing-1`, "-CAfile", "root.pem"]);

  async function newDevice(name: string) {
    const created = await post("/api/v1/devices", { name });
    expect(created.status).toBe(201);
    return created.data.id as string;
  }

  async function issueFromCsr(name: string) {
    const id = await newDevice(name);
    work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`]);
    return { id, res: await post(`/api/v1/devices/${id}/certificates`, { csr: work.read(`${name}.csr`).toString() }) };
  }

  async function relaunch(env: Record<string, string>) {
    const database = server.database;
    await server.kill();
    server = await launchServer(database, env);
  }

  beforeAll(async () => {
    mkdirSync(tokens);
    writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", "so-secret", "--pin", PIN], { env: { ...process.env, SOFTHSM2_CONF: conf } });
    const database = await createTestDatabase("sqlite");
    dbFile = database.url.replace(/^file:/, "");
    server = await launchServer(database, hsmEnv);
    token = cli(server.env, ["token", "create", "--name", "ops", "--role", "operator"]).stdout.trim();
    work = new Workdir();
    work.file("root.pem", await (await fetch(`${server.url}/pki/ca/root.pem`)).text());
    work.file("issuing.pem", await (await fetch(`${server.url}/pki/ca/issuing-1.pem`)).text());
    work.file("chain.pem", await (await fetch(`${server.url}/pki/ca/issuing-1/chain.pem`)).text());
  }, 240_000);

  afterAll(async () => {
    work?.dispose();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("generates the root and issuing CA keys on the token: private, sensitive, never extractable; the database holds only their URIs", () => {
    const rows = caRows();
    expect(rows.map((r) => r.slug)).toEqual(["root", "issuing-1"]);
    for (const row of rows) {
      expect(row.sealedKey).toBe("");
      expect(row.keyRef).toMatch(new RegExp(`^pkcs11:token=${label};object=certfleet-${row.slug};id=(%[0-9a-f]{2}){16}$`));
    }
    const keys = listKeys();
    for (const slug of ["root", "issuing-1"]) {
      const block = keys.split(/(?=Private Key Object)/).find((b) => b.includes(`label:      certfleet-${slug}\n`));
      expect(block, keys).toBeDefined();
      expect(block).toMatch(/Private Key Object; EC/);
      expect(block).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
      expect(block).toMatch(/Usage:\s+sign\n/);
      const id = /ID:\s+([0-9a-f]+)/.exec(block!)![1];
      expect(rows.find((r) => r.slug === slug)!.keyRef).toContain(`id=${id.replace(/(..)/g, "%$1")}`);
    }
    // The token itself refuses to hand the key's value out, whoever asks (raw pkcs11js, logged in).
    process.env.SOFTHSM2_CONF = conf;
    const lib = new pkcs11js.PKCS11();
    lib.load(MODULE);
    lib.C_Initialize();
    try {
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === label)!;
      const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
      lib.C_Login(session, pkcs11js.CKU_USER, PIN);
      lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: "certfleet-root" }]);
      const [key] = lib.C_FindObjects(session, 1);
      lib.C_FindObjectsFinal(session);
      expect(() => lib.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      const [extractable, sensitive] = lib.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_SENSITIVE }]);
      expect([extractable.value, sensitive.value]).toEqual([Buffer.from([0]), Buffer.from([1])]);
    } finally {
      lib.C_Finalize();
    }
    expect(server.logs()).toContain("keys on PKCS#11 token");
  });

  it("issues from a CSR and with a generated key, revokes, and the CRL and OCSP say so (openssl verify -crl_check, openssl ocsp)", async () => {
    const fromCsr = await issueFromCsr("hsm-csr");
    expect(fromCsr.res.status).toBe(201);
    work.file("hsm-csr.pem", fromCsr.res.data.certificatePem);
    expect(work.ok(["verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "hsm-csr.pem"])).toContain("OK");

    const genId = await newDevice("hsm-gen");
    const generated = await post(`/api/v1/devices/${genId}/certificates`, { generateKey: { algorithm: "EC-P256" } });
    expect(generated.status).toBe(201);
    work.file("hsm-gen.pem", generated.data.certificatePem);
    work.file("hsm-gen.key", generated.data.privateKeyPem);
    expect(work.ok(["verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "hsm-gen.pem"])).toContain("OK");
    // The certificate's key is the one handed out.
    expect(work.ok(["x509", "-in", "hsm-gen.pem", "-noout", "-pubkey"])).toBe(work.ok(["pkey", "-in", "hsm-gen.key", "-pubout"]));

    const revoked = await post(`/api/v1/certificates/${fromCsr.res.data.certificate.id}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    const serial = fromCsr.res.data.certificate.serialHex.toUpperCase().replace(/^0+/, "");
    let text = "";
    for (let i = 0; i < 100 && !text.toUpperCase().includes(serial); i++) {
      await new Promise((r) => setTimeout(r, 100));
      work.file("crl.der", await crlDer());
      text = work.ok(["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"]);
    }
    expect(text.toUpperCase()).toContain(serial);
    work.ok(["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"]);
    // The CRL verifies under the issuing CA (signed on the token).
    expect(work.run(["crl", "-in", "crl.pem", "-CAfile", "chain.pem", "-noout"]).stderr).toContain("verify OK");
    const bad = work.run(["verify", "-crl_check", "-CAfile", "root.pem", "-untrusted", "chain.pem", "-CRLfile", "crl.pem", "hsm-csr.pem"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain("certificate revoked");
    expect(work.ok(["verify", "-crl_check", "-CAfile", "root.pem", "-untrusted", "chain.pem", "-CRLfile", "crl.pem", "hsm-gen.pem"])).toContain("OK");

    const ocspRevoked = ocsp("hsm-csr.pem");
    expect(ocspRevoked.stderr).toContain("Response verify OK");
    expect(ocspRevoked.stdout).toMatch(/hsm-csr\.pem: revoked[\s\S]*Reason: keyCompromise/);
    const ocspGood = ocsp("hsm-gen.pem");
    expect(ocspGood.stderr).toContain("Response verify OK");
    expect(ocspGood.stdout).toContain("hsm-gen.pem: good");
  });

  it("CLI: creates an issuing CA on the token, which issues; refuses to import a CA twice", async () => {
    // Bad input: a clear message, no row and no key left on the token.
    const keysBefore = listKeys();
    const badSlug = cli(server.env, ["ca", "create", "--slug", "Bad Slug", "--name", "x"]);
    expect(badSlug.status).not.toBe(0);
    expect(badSlug.stderr).toContain("must be 1–63 lowercase letters");
    const badParent = cli(server.env, ["ca", "create", "--slug", "issuing-x", "--name", "x", "--parent", "issuing-1"]);
    expect(badParent.stderr).toContain("not an active root CA");
    expect(listKeys()).toBe(keysBefore);
    expect(caRows().map((r) => r.slug)).toEqual(["root", "issuing-1"]);

    const created = cli(server.env, ["ca", "create", "--slug", "issuing-2", "--name", "CertFleet Issuing CA 2"]);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/created issuing CA issuing-2\tEC-P256\t.*key pkcs11:token=.*object=certfleet-issuing-2;id=/);
    expect(caRows().find((r) => r.slug === "issuing-2")).toMatchObject({ sealedKey: "" });
    expect(listKeys()).toContain("label:      certfleet-issuing-2\n");

    const id = await newDevice("hsm-ca2");
    const issued = await post(`/api/v1/devices/${id}/certificates`, { generateKey: { algorithm: "EC-P256" }, caId: "issuing-2" });
    expect(issued.status).toBe(201);
    work.file("ca2.pem", await (await fetch(`${server.url}/pki/ca/issuing-2/chain.pem`)).text());
    work.file("hsm-ca2.pem", issued.data.certificatePem);
    expect(work.ok(["verify", "-CAfile", "root.pem", "-untrusted", "ca2.pem", "hsm-ca2.pem"])).toContain("OK");

    // issuing-1's certificate with the root's key: the probe signature does not verify, nothing is stored.
    const before = caRows().length;
    const wrong = cli(server.env, ["ca", "import", "--slug", "imported", "--name", "x", "--cert", work.path("issuing.pem"), "--key-label", "certfleet-root"]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/CA "issuing-1"|already CA/);
    const mismatch = cli(server.env, ["ca", "import", "--slug", "imported", "--name", "x", "--cert", work.path("ca2.pem"), "--key-label", "certfleet-root"]);
    expect(mismatch.status).not.toBe(0);
    expect(mismatch.stderr).toMatch(/already CA "issuing-2"/);
    expect(caRows().length).toBe(before);
  });

  it("CLI: another instance imports the existing root by its token key id (the label alone is then ambiguous)", async () => {
    const other = await createTestDatabase("sqlite");
    try {
      const env = { ...server.env, ...hsmEnv, DATABASE_URL: other.url, CERTFLEET_DATA_DIR: other.dataDir };
      // First use bootstraps the other instance: its own hierarchy, also on the token.
      expect(cli(env, ["ca", "list"]).status).toBe(0);
      const idOf = (slug: string) => /id=((?:%[0-9a-f]{2})+)/.exec(caRows().find((r) => r.slug === slug)!.keyRef!)![1].replace(/%/g, "");
      const idHex = idOf("root");
      // The issuing CA's key offered for the root certificate: the probe signature does not verify.
      const otherRows = () => {
        const sqlite = new Database(other.url.replace(/^file:/, ""), { readonly: true });
        try {
          return sqlite.prepare(`SELECT count(*) AS n FROM "CertificateAuthority"`).get() as { n: number };
        } finally {
          sqlite.close();
        }
      };
      const rowsBefore = otherRows().n;
      const wrongKey = cli(env, ["ca", "import", "--slug", "first-root", "--name", "First root", "--cert", work.path("root.pem"), "--key-id", idOf("issuing-1")]);
      expect(wrongKey.status).not.toBe(0);
      expect(wrongKey.stderr).toContain("does not belong to the certificate");
      expect(otherRows().n).toBe(rowsBefore);
      const ambiguous = cli(env, ["ca", "import", "--slug", "first-root", "--name", "First root", "--cert", work.path("root.pem"), "--key-label", "certfleet-root"]);
      expect(ambiguous.status).not.toBe(0);
      expect(ambiguous.stderr).toContain("More than one private key");
      const imported = cli(env, ["ca", "import", "--slug", "first-root", "--name", "First root", "--cert", work.path("root.pem"), "--key-id", idHex]);
      expect(imported.status, imported.stderr).toBe(0);
      expect(imported.stdout).toMatch(new RegExp(`imported root CA first-root\\tEC-P256\\t.*key pkcs11:token=${label};id=%`));
      const listed = cli(env, ["ca", "list"]).stdout;
      expect(listed).toContain("first-root\troot");
    } finally {
      await other.drop();
    }
  });

  it("admin UI (CAs page, real Chromium): creates an issuing CA on the token; bad input and an unknown token key change nothing", async () => {
    const chrome = await launchBrowser();
    try {
      const page = await (await newContext(chrome.browser, server.url)).newPage();
      await signIn(page, "admin@test.local", "admin-password-1");
      await page.goto("/cas");
      const open = async () => {
        await page.getByTestId("token-ca").click();
        return page.getByRole("dialog");
      };
      const slugs = () => caRows().map((r) => r.slug);
      const before = slugs();
      const keysBefore = listKeys();

      let dialog = await open();
      await dialog.getByLabel("Slug").fill("Bad Slug");
      await dialog.getByLabel("Name").fill("x");
      await dialog.getByTestId("token-ca-submit").click();
      await dialog.getByText(/lowercase letters, digits/).waitFor();

      // An outside CA whose key is not on the token: refused by the service, shown in the form.
      work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "outside.key", "-subj", "/CN=Outside CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "outside.pem"]);
      await dialog.getByLabel("Existing CA, key already on the token").check();
      await dialog.getByLabel("Slug").fill("outside");
      await dialog.getByLabel("Name").fill("Outside CA");
      await dialog.getByLabel("CA certificate (PEM)").fill(work.read("outside.pem").toString());
      await dialog.getByLabel("Key label (CKA_LABEL)").fill("no-such-key");
      await dialog.getByTestId("token-ca-submit").click();
      await dialog.getByText(/no-such-key/).first().waitFor();
      expect(slugs()).toEqual(before);
      expect(listKeys()).toBe(keysBefore);

      await page.keyboard.press("Escape");
      dialog = await open();
      await dialog.getByLabel("Slug").fill("issuing-ui");
      await dialog.getByLabel("Name").fill("CertFleet Issuing CA UI");
      await dialog.getByTestId("token-ca-submit").click();
      await page.getByTestId("ca-issuing-ui").waitFor();
      expect(caRows().find((r) => r.slug === "issuing-ui")).toMatchObject({ sealedKey: "", keyRef: expect.stringMatching(/^pkcs11:.*object=certfleet-issuing-ui;id=/) });
      expect(listKeys()).toContain("label:      certfleet-issuing-ui\n");
    } finally {
      await chrome.close();
    }
  });

  it("with a wrong PIN the server starts, says why, serves the stored CRL and OCSP, and refuses issuance with 503 (nothing written)", async () => {
    work.file("before.crl", await crlDer());
    const numberBefore = crlNumber("before.crl");
    await relaunch({ ...hsmEnv, CERTFLEET_PKCS11_PIN: "wrong-pin" });
    expect(server.logs()).toMatch(/CA functions are OFF.*PIN .* was refused \(wrong PIN\)/);
    work.file("after.crl", await crlDer());
    expect(crlNumber("after.crl")).toBe(numberBefore);
    expect(ocsp("hsm-gen.pem").stdout).toContain("hsm-gen.pem: good");

    const count = certificateCount();
    const refused = await issueFromCsr("hsm-wrongpin");
    expect(refused.res.status).toBe(503);
    expect(refused.res.type).toContain("application/problem+json");
    expect(refused.res.data).toMatchObject({ status: 503, code: "TOKEN_UNAVAILABLE" });
    expect(refused.res.data.detail).toContain("wrong PIN");
    expect(certificateCount()).toBe(count);
    const again = await post(`/api/v1/devices/${refused.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
    expect(again.status).toBe(503);
    expect(again.data.detail).toContain("It is not retried");
    expect(certificateCount()).toBe(count);
  });

  it("with the token missing the server starts and refuses issuance with 503; a token lost while running gives 503 and works again once back", async () => {
    const empty = path.join(dir, "empty.conf");
    mkdirSync(path.join(dir, "no-tokens"));
    writeFileSync(empty, `directories.tokendir = ${path.join(dir, "no-tokens")}\nobjectstore.backend = file\n`);
    await relaunch({ ...hsmEnv, SOFTHSM2_CONF: empty });
    expect(server.logs()).toMatch(new RegExp(`CA functions are OFF.*no token "${label}"`));
    expect(ocsp("hsm-gen.pem").stdout).toContain("hsm-gen.pem: good");
    const count = certificateCount();
    const missing = await issueFromCsr("hsm-missing");
    expect(missing.res.status).toBe(503);
    expect(missing.res.data.code).toBe("TOKEN_UNAVAILABLE");
    expect(certificateCount()).toBe(count);

    await relaunch(hsmEnv);
    expect(server.logs()).not.toContain("CA functions are OFF");
    const ok = await post(`/api/v1/devices/${missing.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
    expect(ok.status).toBe(201);

    renameSync(tokens, `${tokens}.away`);
    try {
      const lostCount = certificateCount();
      const lost = await post(`/api/v1/devices/${missing.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
      expect(lost.status).toBe(503);
      expect(lost.data.code).toBe("TOKEN_UNAVAILABLE");
      expect(certificateCount()).toBe(lostCount);
    } finally {
      renameSync(`${tokens}.away`, tokens);
    }
    let back = { status: 0 };
    for (let i = 0; i < 20 && back.status !== 201; i++) {
      await new Promise((r) => setTimeout(r, 500));
      back = await post(`/api/v1/devices/${missing.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
    }
    expect(back.status).toBe(201);
  });
});
