// broker-sync against a real mosquitto: a tiny HTTP(S) server stands in for CertFleet's broker
// endpoints (/pki/chain.pem, /pki/crls.pem, /api/v1/broker/psk-file) with files made by lib/pki.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerConfigText } from "@/cli/broker-config";
import { brokerSyncCommand, parseBrokerSyncArgs } from "@/cli/broker-sync";
import { generateBrokerConfig } from "@/lib/broker/config";
import { OUTPUT_FILES } from "@/lib/broker/files";
import { BrokerSyncError, resourceUrls, syncOnce, type SyncOptions } from "@/lib/broker/sync";
import { validatePskFile } from "@/lib/broker/verify";
import { fixedClock } from "@/lib/pki/clock";
import { freePort, mosquittoPub, startMosquitto, type RunningMosquitto } from "../helpers/mosquitto";
import { createBrokerPki, type BrokerPki } from "../helpers/pki-fixtures";

const TOKEN = "cf_broker_test_token_5ecret";
const DAY = 86_400_000;
const KEY_A = "00112233445566778899aabbccddeeff";
const KEY_B = "ffeeddccbbaa99887766554433221100";
const GOOD_PSK = `device-a:${KEY_A}\ndevice-b:${KEY_B}\n`;

interface Logged {
  path: string;
  ifNoneMatch?: string;
  status: number;
}

/** Serves CertFleet's broker endpoints from mutable strings, with ETag / If-None-Match like the real server. */
class FakeCertFleet {
  chain = "";
  crls = "";
  psk: string | null = null;
  requests: Logged[] = [];
  server!: http.Server;
  base = "";

  async start(tls?: { cert: string; key: string }): Promise<this> {
    const handler: http.RequestListener = (req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const log = (status: number) => this.requests.push({ path: url.pathname, ifNoneMatch: req.headers["if-none-match"], status });
      let body: string | null;
      if (url.pathname === "/pki/chain.pem") body = this.chain;
      else if (url.pathname === "/pki/crls.pem") body = this.crls;
      else if (url.pathname === "/api/v1/broker/psk-file") {
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
          log(401);
          res.writeHead(401, { "content-type": "application/problem+json" }).end('{"title":"Unauthorized"}');
          return;
        }
        body = url.searchParams.get("format") === "mosquitto" ? this.psk : null;
      } else body = null;
      if (body === null) {
        log(404);
        res.writeHead(404).end("not found");
        return;
      }
      const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`;
      if (req.headers["if-none-match"] === etag) {
        log(304);
        res.writeHead(304, { etag }).end();
        return;
      }
      log(200);
      res.writeHead(200, { etag, "content-type": "text/plain" }).end(body);
    };
    this.server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.base = `${tls ? "https" : "http"}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let pki: BrokerPki;
let fake: FakeCertFleet;
let work: string;
let out: string;
let broker: RunningMosquitto | undefined;
let mtlsPort: number;
/** The installed CRL revoking device A (kept byte-for-byte: re-signing gives other ECDSA bytes). */
let crlRevokingA: string;
const cleanups: (() => unknown)[] = [];

const snapshot = (dir: string) =>
  Object.fromEntries([OUTPUT_FILES.chain, OUTPUT_FILES.crl, OUTPUT_FILES.psk].map((f) => [f, existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f)) : null]));
// The fake serves plain http on loopback: allowed only with --allow-http (tested below).
const syncArgs = (extra: string[] = []) => ["--url", fake.base, "--token", TOKEN, "--out", out, "--format", "mosquitto", "--once", "--allow-http", ...extra];
const options = (extra: Partial<SyncOptions> = {}): SyncOptions => ({ url: fake.base, token: TOKEN, outDir: out, format: "mosquitto", allowHttp: true, ...extra });
const pub = (device: "A" | "B", port = mtlsPort) => {
  const leaf = device === "A" ? pki.deviceA : pki.deviceB;
  return mosquittoPub({ port, cafile: pki.chainFile, cert: leaf.certFile, key: leaf.keyFile });
};

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  pki = await createBrokerPki();
  cleanups.push(() => pki.cleanup());
  fake = await new FakeCertFleet().start();
  cleanups.push(() => fake.close());
  work = mkdtempSync(path.join(tmpdir(), "certfleet-broker-sync-"));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  out = path.join(work, "out");
  mtlsPort = await freePort();
});

afterAll(async () => {
  await broker?.stop();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe.sequential("broker-sync with a real mosquitto", () => {
  it("installs verified files; after a revocation and SIGHUP mosquitto refuses device A and still accepts device B", async () => {
    fake.chain = pki.chainPem;
    fake.crls = await pki.crl({ number: 1n });
    fake.psk = GOOD_PSK;
    const first = await syncOnce(options());
    expect(first.changed.sort()).toEqual([OUTPUT_FILES.chain, OUTPUT_FILES.crl, OUTPUT_FILES.psk].sort());
    expect(readFileSync(path.join(out, OUTPUT_FILES.psk), "utf8")).toBe(GOOD_PSK);
    // Independent check of what was installed: OpenSSL accepts device B with the CRL check on.
    const verify = spawnSync("openssl", ["verify", "-crl_check", "-CAfile", path.join(out, OUTPUT_FILES.chain), "-CRLfile", path.join(out, OUTPUT_FILES.crl), pki.deviceB.certFile], { encoding: "utf8" });
    expect(verify.stdout + verify.stderr).toContain(": OK");

    broker = await startMosquitto(
      [
        `listener ${mtlsPort} 127.0.0.1`,
        `cafile ${path.join(out, OUTPUT_FILES.chain)}`,
        `certfile ${pki.server.certFile}`,
        `keyfile ${pki.server.keyFile}`,
        "require_certificate true",
        "use_identity_as_username true",
        `crlfile ${path.join(out, OUTPUT_FILES.crl)}`,
        "",
      ].join("\n"),
      work,
      [mtlsPort],
    );
    expect((await pub("A")).code).toBe(0);
    expect((await pub("B")).code).toBe(0);

    fake.crls = crlRevokingA = await pki.crl({ number: 2n, revoked: [pki.deviceA] });
    await brokerSyncCommand(syncArgs(["--reload-pid", String(broker.pid)]));
    expect(await eventually(async () => (await pub("A")).code !== 0, 10_000)).toBe(true);
    expect((await pub("B")).code).toBe(0);
  });

  it("refuses stale, forged, rolled-back, garbled and incomplete CRL sets and a bad PSK file, keeping the files", async () => {
    const before = snapshot(out);
    const stateBefore = readFileSync(path.join(out, OUTPUT_FILES.state), "utf8");
    const now = Date.now();
    const good = await pki.crl({ number: 3n });
    const lines = good.trimEnd().split("\n");
    const mid = Math.floor(lines.length / 2);
    const cases: [string, string, RegExp][] = [
      ["expired", await pki.crl({ number: 3n, thisUpdate: new Date(now - 2 * DAY), nextUpdate: new Date(now - DAY) }), /stale: nextUpdate .* has passed/],
      ["signed by another key", await pki.crl({ number: 3n, signer: await pki.otherSigner() }), /signature does not verify/],
      ["lower CRL number (would un-revoke device A)", await pki.crl({ number: 1n }), /CRL number 1, lower than the installed 2/],
      ["truncated PEM", lines.slice(0, -1).join("\n"), /garbled PEM/],
      ["bad base64", [...lines.slice(0, mid), "%%%%not-base64%%%%", ...lines.slice(mid + 1)].join("\n"), /garbled PEM.*base64/],
      ["flipped bytes", [...lines.slice(0, mid), lines[mid].split("").reverse().join(""), ...lines.slice(mid + 1)].join("\n"), /does not parse|signature does not verify/],
      ["no CRL for the issuing CA", await pki.rootCrl(1n), /no CRL for "CN=CertFleet Test Issuing CA/],
      ["thisUpdate in the future", await pki.crl({ number: 3n, thisUpdate: new Date(now + DAY), nextUpdate: new Date(now + 2 * DAY) }), /not valid yet/],
      ["not a CRL", pki.chainPem, /is "CERTIFICATE", expected "X509 CRL"/],
    ];
    for (const [name, crls, reason] of cases) {
      fake.crls = crls;
      await expect(brokerSyncCommand(syncArgs(["--reload-pid", String(broker!.pid)])), name).rejects.toThrow(reason);
      expect(snapshot(out), name).toEqual(before);
    }
    // A PSK file with one non-hex key: mosquitto would drop the whole file, so it is not installed.
    // The CRL set is back to the installed one, so the ETag answers 304 for it.
    fake.crls = crlRevokingA;
    fake.psk = `device-a:${KEY_A}\ndevice-b:zz${KEY_B.slice(2)}\n`;
    const refused = await syncOnce(options()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BrokerSyncError);
    expect((refused as BrokerSyncError).message).toMatch(/psk\.txt not updated: PSK file line 2 \(identity "device-b"\): key is not hex/);
    expect((refused as BrokerSyncError).message).not.toContain(KEY_B.slice(2));
    expect(snapshot(out)).toEqual(before);
    expect(readFileSync(path.join(out, OUTPUT_FILES.state), "utf8")).toBe(stateBefore);

    // The CLI as an operator runs it: reason on stderr, non-zero exit, the token nowhere.
    fake.crls = cases[0][1];
    const cli = await runCliProcess(syncArgs());
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/broker-sync failed, previous files kept:[\s\S]*stale: nextUpdate/);
    expect(cli.stdout + cli.stderr).not.toContain(TOKEN);
    expect(snapshot(out)).toEqual(before);

    // The broker keeps working on the installed files, even after a reload.
    process.kill(broker!.pid, "SIGHUP");
    await new Promise((r) => setTimeout(r, 300));
    expect((await pub("B")).code).toBe(0);
    expect((await pub("A")).code).not.toBe(0);
  });

  it("refuses a plain http URL without --allow-http, before anything is requested", async () => {
    const before = fake.requests.length;
    const dir = path.join(work, "no-http");
    const cli = await runCliProcess(["--url", fake.base, "--token", TOKEN, "--out", dir, "--format", "mosquitto", "--once"]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/--url is http:\/\/: the broker token would travel in clear[\s\S]*--allow-http/);
    expect(cli.stderr).not.toContain(TOKEN);
    expect(fake.requests.length).toBe(before);
    expect(existsSync(path.join(dir, OUTPUT_FILES.chain))).toBe(false);
    expect(() => resourceUrls("http://pki.example.com", "mosquitto")).toThrow(/--allow-http/);
    expect(resourceUrls("http://127.0.0.1:3000", "mosquitto", true).chain.href).toBe("http://127.0.0.1:3000/pki/chain.pem");
  });

  it("pins the root: another root is refused (files kept, exit 1) until --accept-new-root; --ca-file anchors the first install", async () => {
    const other = await createBrokerPki(); // same CA names, other keys: what an impostor would serve
    cleanups.push(() => other.cleanup());
    const server = await new FakeCertFleet().start();
    cleanups.push(() => server.close());
    const dir = path.join(work, "pinned");
    const run = (extra: string[] = []) => runCliProcess(["--url", server.base, "--out", dir, "--format", "mosquitto", "--no-psk", "--once", "--allow-http", ...extra]);
    const serve = async (p: BrokerPki, number: bigint) => {
      server.chain = p.chainPem;
      server.crls = await p.crl({ number });
    };

    // First install without --ca-file: the root is trusted and pinned, and the output says so.
    await serve(pki, 1n);
    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/first install without --ca-file: trusting and pinning root "CN=CertFleet Test Root CA/);
    const installed = snapshot(dir);

    // A server (or whoever answers for its URL) now serves another root: refused, nothing changes.
    await serve(other, 50n);
    const refused = await run();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/root "CN=CertFleet Test Root CA, O=CertFleet Tests" \(SHA-256 [0-9a-f]{64}\) is not a trust anchor/);
    expect(refused.stderr).toMatch(/--accept-new-root/);
    expect(snapshot(dir)).toEqual(installed);

    // The real chain with an extra root beside it is refused too: the broker would trust both.
    server.chain = pki.chainPem + other.chainPem;
    server.crls = (await pki.crl({ number: 2n })) + (await other.crl({ number: 50n }));
    expect((await run()).code).toBe(1);
    expect(snapshot(dir)).toEqual(installed);

    // A deliberate root change: accepted once, then the new root is the anchor and the old one is refused.
    await serve(other, 50n);
    expect((await runCliProcess(["--url", server.base, "--out", dir, "--format", "mosquitto", "--allow-http", "--accept-new-root", "--interval", "5m"])).stderr).toMatch(/not with --interval/);
    const accepted = await run(["--accept-new-root"]);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toMatch(/--accept-new-root: now trusting root/);
    expect(readFileSync(path.join(dir, OUTPUT_FILES.chain), "utf8")).toBe(other.chainPem);
    await serve(pki, 3n);
    expect((await run()).code).toBe(1);
    expect(readFileSync(path.join(dir, OUTPUT_FILES.chain), "utf8")).toBe(other.chainPem);

    // --ca-file is the anchor of a first install: a chain with any other root is refused.
    const anchored = path.join(work, "anchored");
    const rootFile = path.join(work, "pinned-root.pem");
    writeFileSync(rootFile, other.root.pem);
    const wrong = await runCliProcess(["--url", server.base, "--out", anchored, "--format", "mosquitto", "--no-psk", "--once", "--allow-http", "--ca-file", rootFile]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/is not a trust anchor/);
    expect(existsSync(path.join(anchored, OUTPUT_FILES.chain))).toBe(false);
    writeFileSync(rootFile, pki.root.pem);
    const right = await runCliProcess(["--url", server.base, "--out", anchored, "--format", "mosquitto", "--no-psk", "--once", "--allow-http", "--ca-file", rootFile]);
    expect(right.code, right.stderr).toBe(0);
    expect(right.stderr).not.toMatch(/first install without --ca-file/);
  });

  it("downloads nothing and does not reload when nothing changed (ETag / 304)", async () => {
    fake.crls = crlRevokingA;
    fake.psk = GOOD_PSK;
    await syncOnce(options()); // settle after the refusals
    const marker = path.join(work, "reloaded");
    const reload = { kind: "command" as const, command: `echo reloaded >> '${marker}'` };
    fake.requests = [];
    const result = await syncOnce(options({ reload }));
    expect(result.changed).toEqual([]);
    expect(result.reloaded).toBeUndefined();
    expect(fake.requests.map((r) => [r.path, r.status])).toEqual([
      ["/pki/chain.pem", 304],
      ["/pki/crls.pem", 304],
      ["/api/v1/broker/psk-file", 304],
    ]);
    expect(fake.requests.every((r) => r.ifNoneMatch)).toBe(true);
    expect(existsSync(marker)).toBe(false);

    // One change → only that file is downloaded and installed, and the broker is reloaded once.
    fake.psk = `${GOOD_PSK}device-c:0badc0de\n`;
    fake.requests = [];
    const changed = await syncOnce(options({ reload }));
    expect(changed.changed).toEqual([OUTPUT_FILES.psk]);
    expect(fake.requests.filter((r) => r.status === 200).map((r) => r.path)).toEqual(["/api/v1/broker/psk-file"]);
    expect(readFileSync(marker, "utf8")).toBe("reloaded\n");

    // A failed reload is an error, and the next run retries it although nothing changed since.
    fake.psk = GOOD_PSK;
    await expect(syncOnce(options({ reload: { kind: "command", command: "echo broker down >&2; exit 3" } }))).rejects.toThrow(
      /psk\.txt installed but the broker was not reloaded: reload command failed \(exit 3\): broker down/,
    );
    const retried = await syncOnce(options({ reload }));
    expect(retried.changed).toEqual([]);
    expect(retried.reloaded).toMatch(/succeeded/);
    expect(readFileSync(marker, "utf8")).toBe("reloaded\nreloaded\n");
    expect((await syncOnce(options({ reload }))).reloaded).toBeUndefined();

    // Two days on, the server still answers 304: the installed CRL is stale and that is an error
    // (the broker is refusing everyone), not "up to date".
    const later = fixedClock(Date.now() + 2 * DAY);
    await expect(syncOnce(options({ clock: later }))).rejects.toThrow(/installed crl\.pem: .*stale[\s\S]*answered 304 Not Modified/);
  });

  it("syncs over HTTPS with --ca-file, refuses an untrusted server, and treats a 404 PSK file as optional", async () => {
    const tlsFake = await new FakeCertFleet().start({ cert: readFileSync(pki.server.certFile, "utf8") + pki.issuing.pem, key: readFileSync(pki.server.keyFile, "utf8") });
    try {
      tlsFake.chain = pki.chainPem;
      // A CRL of a CA outside the chain (e.g. a retired one) is left out with a warning, not installed.
      tlsFake.crls = (await pki.crl({ number: 5n })) + (await pki.foreignCrl()) + (await pki.rootCrl(1n));
      const dir = path.join(work, "https");
      const untrusted = await syncOnce({ url: tlsFake.base, token: TOKEN, outDir: dir, format: "emqx" }).catch((e: unknown) => e);
      expect((untrusted as Error).message).toMatch(/certificate/i);
      expect((untrusted as Error).message).not.toContain(TOKEN);
      // No PSK file for emqx on this server (404): skipped, not an error, as long as none was installed.
      const result = await syncOnce({ url: tlsFake.base, token: TOKEN, outDir: dir, format: "emqx", caFile: pki.chainFile });
      expect(result.changed.sort()).toEqual([OUTPUT_FILES.chain, OUTPUT_FILES.crl].sort());
      expect(result.skipped).toContain(OUTPUT_FILES.psk);
      expect(readFileSync(path.join(dir, OUTPUT_FILES.crl), "utf8").match(/BEGIN X509 CRL/g)).toHaveLength(2);
      expect(result.warnings.join("\n")).toMatch(/CRL 2 was left out: its issuer is not in the CA chain/);
      // --psk makes the PSK file mandatory.
      await expect(syncOnce({ url: tlsFake.base, token: TOKEN, outDir: dir, format: "emqx", caFile: pki.chainFile, psk: "require" })).rejects.toThrow(/psk\.txt not updated: .*HTTP 404/);
    } finally {
      await tlsFake.close();
    }
  });

  it("waits for a CRL whose thisUpdate is a few seconds ahead instead of installing a not-yet-valid CRL", async () => {
    const dir = path.join(work, "skew");
    const local = await new FakeCertFleet().start();
    try {
      local.chain = pki.chainPem;
      local.crls = await pki.crl({ number: 9n, thisUpdate: new Date(Date.now() + 20_000) });
      const waits: number[] = [];
      const result = await syncOnce({ url: local.base, outDir: dir, format: "mosquitto", allowHttp: true, sleep: async (ms) => void waits.push(ms) });
      expect(waits).toHaveLength(1);
      expect(waits[0]).toBeGreaterThan(15_000);
      expect(result.changed).toContain(OUTPUT_FILES.crl);
    } finally {
      await local.close();
    }
  });

  it("broker-config's mosquitto text runs a real mosquitto (mTLS with CRL + PSK), and its EMQX text has the required keys", async () => {
    const [port, pskPort] = [await freePort(), await freePort()];
    const text = brokerConfigText([
      "--broker", "mosquitto", "--url", fake.base, "--dir", out, "--bind", "127.0.0.1",
      "--mtls-port", String(port), "--psk-port", String(pskPort),
      "--server-cert", pki.server.certFile, "--server-key", pki.server.keyFile,
    ]);
    expect(text).toContain(`crlfile ${path.join(out, OUTPUT_FILES.crl)}`);
    expect(text).toContain("#1826");
    const dir = mkdtempSync(path.join(work, "config-"));
    const configured = await startMosquitto(text, dir, [port, pskPort]);
    try {
      expect((await pub("B", port)).code).toBe(0);
      expect((await pub("A", port)).code).not.toBe(0); // revoked in the installed CRL
      const psk = (identity: string, key: string) => mosquittoPub({ port: pskPort, pskIdentity: identity, psk: key, tlsVersion: "tlsv1.2" });
      expect((await psk("device-b", KEY_B)).code).toBe(0);
      expect((await psk("device-b", KEY_A)).code).not.toBe(0);
    } finally {
      await configured.stop();
    }

    const emqx = generateBrokerConfig({ broker: "emqx", url: "https://pki.example.com", dir: "/etc/emqx/certfleet" });
    for (const key of ["enable_crl_check = true", "verify = verify_peer", "fail_if_no_peer_cert = true", "crl_cache {", "refresh_interval = 15m", "psk_authentication {", 'init_file = "/etc/emqx/certfleet/psk.txt"', 'versions = ["tlsv1.2"]', 'cacertfile = "/etc/emqx/certfleet/ca-chain.pem"']) {
      expect(emqx).toContain(key);
    }
    expect(emqx).toMatch(/6\.0\.3/);
    expect(emqx).toMatch(/raw bytes/);
  });

  it("--format rabbitmq: the CRLs also as an openssl-rehash directory, named as openssl rehash names them, without a PSK file", async () => {
    const rabbitOut = mkdtempSync(path.join(work, "rabbit-"));
    const hashDir = path.join(rabbitOut, OUTPUT_FILES.crlHashDir);
    fake.chain = pki.chainPem;
    fake.crls = crlRevokingA;
    const first = await syncOnce(options({ outDir: rabbitOut, format: "rabbitmq" }));
    expect(first.changed.sort()).toEqual([OUTPUT_FILES.chain, OUTPUT_FILES.crl, OUTPUT_FILES.crlHashDir].sort());
    expect(existsSync(path.join(rabbitOut, OUTPUT_FILES.psk))).toBe(false);
    // The hash directory needs no reload: no warning asks for one for it.
    expect(first.warnings.join("\n")).not.toContain(OUTPUT_FILES.crlHashDir);
    // Independent check: openssl rehash over the same CRL names it identically.
    const check = mkdtempSync(path.join(work, "rehash-"));
    writeFileSync(path.join(check, "crl.pem"), readFileSync(path.join(rabbitOut, OUTPUT_FILES.crl)));
    expect(spawnSync("openssl", ["rehash", check]).status).toBe(0);
    const ours = readdirSync(hashDir).sort();
    expect(ours).toEqual(readdirSync(check).filter((n) => /\.r\d+$/.test(n)).sort());
    expect(ours).toHaveLength(1);
    expect(readFileSync(path.join(hashDir, ours[0]), "utf8")).toBe(readFileSync(path.join(rabbitOut, OUTPUT_FILES.crl), "utf8"));
    // OpenSSL's own lookup through the directory finds the CRL: device A is revoked there.
    const verify = spawnSync("openssl", ["verify", "-crl_check", "-CAfile", path.join(rabbitOut, OUTPUT_FILES.chain), "-CApath", hashDir, pki.deviceA.certFile], { encoding: "utf8" });
    expect(verify.stdout + verify.stderr).toMatch(/revoked/);

    // A newer CRL replaces the file in place; a stray stale name is removed; a refused CRL changes nothing.
    writeFileSync(path.join(hashDir, "0badc0de.r0"), "stale");
    fake.crls = await pki.crl({ number: 50n });
    const second = await syncOnce(options({ outDir: rabbitOut, format: "rabbitmq" }));
    expect(second.changed).toContain(OUTPUT_FILES.crlHashDir);
    expect(readdirSync(hashDir).sort()).toEqual(ours);
    const installed = readFileSync(path.join(hashDir, ours[0]), "utf8");
    fake.crls = await pki.crl({ number: 49n });
    await expect(syncOnce(options({ outDir: rabbitOut, format: "rabbitmq" }))).rejects.toThrow(/lower than the installed/);
    expect(readFileSync(path.join(hashDir, ours[0]), "utf8")).toBe(installed);
    fake.crls = crlRevokingA;
  });

  it("validates PSK files per broker format and rejects bad flags with clear messages", () => {
    expect(validatePskFile(Buffer.from(`# comment\n\n${GOOD_PSK}`), "mosquitto").entries).toBe(2);
    expect(() => validatePskFile(Buffer.from("a:0011\na:2233\n"), "mosquitto")).toThrow(/appears twice/);
    expect(() => validatePskFile(Buffer.from("a:001\n"), "mosquitto")).toThrow(/odd number/);
    expect(() => validatePskFile(Buffer.from("a:0011\r\n"), "mosquitto")).toThrow(/control character/);
    expect(validatePskFile(Buffer.from("dev1:not-hex secret\n"), "emqx").entries).toBe(1);
    expect(() => validatePskFile(Buffer.from("# comment\ndev1:x\n"), "emqx")).toThrow(/comment/);
    expect(() => validatePskFile(Buffer.from("dev1:x\n\ndev2:y\n"), "emqx")).toThrow(/blank line/);

    expect(() => parseBrokerSyncArgs(["--url", "http://x", "--out", "/tmp/x"])).toThrow(/--format must be mosquitto, emqx or rabbitmq/);
    expect(() => parseBrokerSyncArgs(["--url", "http://x", "--out", "/tmp/x", "--format", "rabbitmq", "--psk"])).toThrow(/no PSK file/);
    expect(() => parseBrokerSyncArgs(["--url", "http://x", "--out", "/tmp/x", "--format", "emqx", "--bogus"])).toThrow(/Unknown option '--bogus'/);
    expect(() => parseBrokerSyncArgs(["--url", "http://x", "--out", "/tmp/x", "--format", "emqx", "--interval", "soon"])).toThrow(/--interval/);
    expect(() => parseBrokerSyncArgs(["--url", "http://x", "--out", "/tmp/x", "--format", "emqx", "--once", "--interval", "5m"])).toThrow(/contradict/);
    expect(parseBrokerSyncArgs(["--url", "http://x", "--out", "/tmp/x", "--format", "emqx", "--interval", "5m"], { CERTFLEET_BROKER_TOKEN: "t" })).toMatchObject({ intervalMs: 300_000, options: { token: "t", psk: "auto" } });
    expect(() => brokerConfigText(["--broker", "hivemq"])).toThrow(/--broker must be one of mosquitto, emqx, rabbitmq/);
    expect(() => brokerConfigText(["--broker", "mosquitto", "--mtls-port", "99999"])).toThrow(/--mtls-port/);
    expect(() => brokerConfigText(["--broker", "rabbitmq", "--psk-port", "8884"])).toThrow(/no PSK support/);
    expect(() => brokerConfigText(["--broker", "rabbitmq", "--crl-mode", "ocsp"])).toThrow(/--crl-mode must be one of cdp, hash-dir/);
    expect(() => brokerConfigText(["--broker", "mosquitto", "--crl-mode", "cdp"])).toThrow(/--crl-mode is for --broker rabbitmq/);
    expect(() => brokerConfigText(["--broker", "rabbitmq", "--auth-url", "ftp://x"])).toThrow(/--auth-url must be an absolute http/);
    const rabbit = brokerConfigText(["--broker", "rabbitmq", "--dir", "/etc/rabbitmq/cf", "--crl-mode", "hash-dir", "--auth-url", "https://pki.example.com/broker-auth/s3cret"]);
    for (const key of ["mqtt.ssl_cert_login = true", "ssl_cert_login_from = common_name", "auth_backends.1 = http", "auth_http.topic_path = https://pki.example.com/broker-auth/s3cret/topic", '{dir, "/etc/rabbitmq/cf/crl-hash"}', "{fail_if_no_peer_cert, true}", "{crl_check, peer}", "rabbitmq_auth_backend_http"]) {
      expect(rabbit).toContain(key);
    }
    expect(rabbit).not.toMatch(/^auth_backends\.2/m);
  });
});

/** Runs brokerSyncCommand in a child process the way cli/main.ts does (message on stderr, exit 1). */
function runCliProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = [
    `const { brokerSyncCommand } = await import(${JSON.stringify(path.resolve("cli/broker-sync.ts"))});`,
    "try { await brokerSyncCommand(process.argv.slice(1)); process.exit(0); }",
    "catch (e) { console.error(`certfleet: ${e.message}`); process.exit(1); }",
  ].join("\n");
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, "--", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
