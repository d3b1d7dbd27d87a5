// `npm run bench [-- --quick] [-- --update-readme]`: CertFleet against its OpenSSL peer, measured
// in the same run on the same machine. Prints a table and writes bench/results/latest.{json,md}.
// Benchmarks are a script, never timed tests.
import os from "node:os";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../tests/helpers/databases";
import { launchServer, freePort, type TestServer } from "../tests/helpers/server";
import { Browser } from "../tests/helpers/http";
import { Workdir } from "../tests/helpers/openssl";
import { resetConfigForTests } from "../lib/config";
import { resetSecretsForTests } from "../lib/secrets";
import { db, disconnectDb } from "../lib/db";
import { SYSTEM_ACTOR, type Actor } from "../lib/auth/roles";
import { createApiToken } from "../lib/services/tokens";
import { createDevice } from "../lib/services/devices";
import { issueDeviceCertificate } from "../lib/services/certificates";
import { defaultIssuingCa, forgetSignersForTests } from "../lib/services/cas";
import { ZIssueCertificate } from "../lib/validation/certificates";
import { parseCrlInfo } from "../lib/pki/crl-reader";
import { load, timings } from "./load";
import { measureMetricsScrape } from "./metrics";
import { closeSeedConnections, seedBulk } from "./seed";
import { OpensslCa, opensslSpeedEcdsaP256 } from "./peer";

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const UPDATE_README = argv.includes("--update-readme");
const PG_URL = process.env.CERTFLEET_TEST_PG_URL ?? process.env.BENCH_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const SECONDS = QUICK ? 4 : 10;
const SIZES = QUICK ? { inventoryDevices: 20_000, crl: [10_000, 100_000], revokedServed: 20_000 } : { inventoryDevices: 100_000, crl: [10_000, 100_000, 1_000_000], revokedServed: 100_000 };
// --devices N: inventory size for this run (e.g. a quick run at 100k).
const devicesArg = argv.indexOf("--devices");
if (devicesArg >= 0) SIZES.inventoryDevices = Number(argv[devicesArg + 1]);
const PG_1M = argv.includes("--pg-1m") || !QUICK;

interface Row {
  area: string;
  test: string;
  certfleet: string;
  peer: string;
  ratio: string;
  target: string;
  met: "yes" | "no" | "—";
}
const rows: Row[] = [];
const raw: Record<string, unknown> = {};
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a");
const log = (s: string) => console.error(s);

function add(row: Row) {
  rows.push(row);
  log(`  ${row.area} | ${row.test} | ${row.certfleet} | peer ${row.peer} | ${row.ratio} | ${row.target} → ${row.met}`);
}

/** CA keys on a SoftHSM2 token beside software keys (lib/pki level, EC P-256, 8 concurrent callers). */
async function benchHsm() {
  if (spawnSync("sh", ["-c", "command -v softhsm2-util"]).status !== 0) return log("softhsm2 not installed: skipping the PKCS#11 lines");
  const { measureSoftHsm } = await import("./hsm");
  const r = await measureSoftHsm();
  raw.hsm = r;
  const token = r.tokenSign[2];
  add({ area: "HSM", test: "CA signatures, P-256, SoftHSM2 (2 sessions) vs software key", certfleet: `${fmt(token)} sign/s`, peer: `software key: ${fmt(r.softwareSign)} sign/s`, ratio: `${fmt((token / r.softwareSign) * 100, 1)}% of software`, target: "—", met: "—" });
  add({ area: "HSM", test: "device certificates through lib/pki, CA key on SoftHSM2 vs software", certfleet: `${fmt(r.issuance.token)} certs/s`, peer: `software key: ${fmt(r.issuance.software)} certs/s`, ratio: `${fmt((r.issuance.token / r.issuance.software) * 100, 1)}% of software`, target: "—", met: "—" });
  add({ area: "HSM", test: "CRL re-sign, 10,000 entries, CA key on SoftHSM2 vs software", certfleet: `${fmt(r.crlMs.token, 1)} ms`, peer: `software key: ${fmt(r.crlMs.software, 1)} ms`, ratio: "—", target: "—", met: "—" });
}

/** Revocation → the device's live MQTT session closed on a real RabbitMQ node (bench/rabbitmq.ts). */
async function benchRabbitmq() {
  const { measureRabbitmqSessionClose } = await import("./rabbitmq");
  const r = await measureRabbitmqSessionClose();
  if (!r) return log("RabbitMQ not installed: skipping the live-session line");
  raw.rabbitmq = r;
  add({ area: "Brokers", test: "revocation → live MQTT session closed (RabbitMQ 3.10, management API), median of 5", certfleet: `${fmt(r.medianS, 2)} s`, peer: "—", ratio: "—", target: "< 10 s", met: r.medianS < 10 ? "yes" : "no" });
}

async function pgAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** Points this process's lib/ at the server's database (for seeding and service-level runs). */
async function pointAtDatabase(database: TestDatabase) {
  await disconnectDb();
  closeSeedConnections();
  process.env.DATABASE_URL = database.url;
  process.env.CERTFLEET_DATA_DIR = database.dataDir;
  resetConfigForTests();
  resetSecretsForTests();
  forgetSignersForTests();
}

async function startBenchServer(provider: "sqlite" | "postgresql"): Promise<TestServer> {
  if (provider === "postgresql") process.env.CERTFLEET_TEST_PG_URL = PG_URL;
  const database = await createTestDatabase(provider);
  const server = await launchServer(database, { NODE_ENV: "production" });
  await pointAtDatabase(database);
  return server;
}

async function enrollWithCsr(server: TestServer, token: string, work: Workdir, name: string) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const device = await (await fetch(`${server.url}/api/v1/devices`, { method: "POST", headers, body: JSON.stringify({ name }) })).json();
  const issued = await (await fetch(`${server.url}/api/v1/devices/${device.id}/certificates`, { method: "POST", headers, body: JSON.stringify({ csr: work.read("bench.csr").toString() }) })).json();
  return { deviceId: device.id as string, certId: issued.certificate.id as string, pem: issued.certificatePem as string, chain: issued.chainPem as string };
}

// ---------------------------------------------------------------------------------------------
async function benchOcspAndIssuance(work: Workdir) {
  log("\n== OCSP (HTTP, loopback) and issuance on SQLite");
  const server = await startBenchServer("sqlite");
  try {
    const token = (await createApiToken(SYSTEM_ACTOR, { name: "bench", role: "operator" })).token;
    work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "bench.key", "-subj", "/CN=bench", "-out", "bench.csr"]);
    const leaf = await enrollWithCsr(server, token, work, "ocsp-target");
    work.file("leaf.pem", leaf.pem);
    work.file("issuing.pem", leaf.chain.split(/(?<=-----END CERTIFICATE-----\n)/)[0]);
    work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "cf.req"]);
    work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "leaf.pem", "-reqout", "cf-nonce.req"]);
    const cfReq = work.read("cf.req");
    const cfNonce = work.read("cf-nonce.req");
    const ocspUrl = `${server.url}/pki/ocsp/issuing-1`;
    const ocspHeaders = { "content-type": "application/ocsp-request" };

    const peer = new OpensslCa();
    peer.create();
    peer.writeIndex(1000);
    const peerPort = await freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const peerReq = peer.ocspRequest(false);
    const peerNonce = peer.ocspRequest(true);
    // A fresh responder for every case: connections the load generator drops at the end of a run
    // can leave openssl's few workers waiting on a read.
    const withPeer = async <T>(fn: () => Promise<T>) => {
      const stop = await peer.startResponder(peerPort, os.cpus().length);
      try {
        return await fn();
      } finally {
        stop();
        await new Promise((r) => setTimeout(r, 300));
      }
    };
    {
      const cases: [string, () => ReturnType<typeof load>, () => ReturnType<typeof load>, (r: number, p99: number) => boolean, string][] = [
        ["POST, no nonce", () => load({ url: ocspUrl, method: "POST", body: cfReq, headers: ocspHeaders, seconds: SECONDS }), () => load({ url: peerUrl, method: "POST", body: peerReq, headers: ocspHeaders, seconds: SECONDS }), (r, p99) => r >= 5 && p99 < 10, "≥ 5× peer, p99 < 10 ms"],
        ["GET, no nonce", () => load({ url: `${ocspUrl}/${encodeURIComponent(cfReq.toString("base64"))}`, seconds: SECONDS }), () => load({ url: `${peerUrl}/${encodeURIComponent(peerReq.toString("base64"))}`, seconds: SECONDS }), (r, p99) => r >= 5 && p99 < 10, "≥ 5× peer, p99 < 10 ms"],
        ["POST with nonce", () => load({ url: ocspUrl, method: "POST", body: cfNonce, headers: ocspHeaders, seconds: SECONDS }), () => load({ url: peerUrl, method: "POST", body: peerNonce, headers: ocspHeaders, seconds: SECONDS }), (r) => r >= 1, "≥ peer"],
      ];
      for (const [name, ours, theirs, met, target] of cases) {
        const a = await ours();
        const b = await withPeer(theirs);
        raw[`ocsp ${name}`] = { certfleet: a, peer: b };
        const ratio = a.rps / b.rps;
        add({
          area: "OCSP",
          test: name,
          certfleet: `${fmt(a.rps)} req/s, p50 ${a.p50} ms, p99 ${a.p99} ms${a.errors + a.non2xx ? `, ${a.errors + a.non2xx} errors` : ""}`,
          peer: `${fmt(b.rps)} req/s, p50 ${b.p50} ms, p99 ${b.p99} ms${b.errors + b.non2xx ? `, ${b.errors + b.non2xx} errors` : ""}`,
          ratio: `${fmt(ratio, 1)}×`,
          target,
          met: met(ratio, a.p99) ? "yes" : "no",
        });
      }
    }

    const devices = await benchIssuance("sqlite", server, token, work);

    // Time from a revocation to the new CRL being served, with many revoked entries on the CRL.
    log(`  seeding ${SIZES.revokedServed} revoked certificates…`);
    const ca = await defaultIssuingCa();
    const sample = await db().certificate.findFirstOrThrow({ where: { caId: ca.id } });
    await seedBulk({ caId: ca.id, devices: SIZES.revokedServed, certsPerDevice: 1, revokedEvery: 1, der: sample.der, spki: sample.publicKeyDer, prefix: "rv" });
    await db().certificateAuthority.update({ where: { id: ca.id }, data: { revocationVersion: { increment: 1 } } });
    const crlUrl = `${server.url}/pki/crl/issuing-1.crl`;
    const fetchCrl = async () => Buffer.from(await (await fetch(crlUrl)).arrayBuffer());
    for (let i = 0; i < 200 && parseCrlInfo(await fetchCrl()).count < SIZES.revokedServed; i++) await new Promise((r) => setTimeout(r, 100));
    const latencies: number[] = [];
    const victims = await db().certificate.findMany({ where: { caId: ca.id, status: "active", deviceId: { in: devices } }, take: 3, select: { id: true } });
    for (const v of victims) {
      const before = parseCrlInfo(await fetchCrl()).number!;
      const t0 = performance.now();
      const res = await fetch(`${server.url}/api/v1/certificates/${v.id}/revoke`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ reason: "keyCompromise" }) });
      if (res.status !== 200) throw new Error(`revoke failed: ${res.status}`);
      for (;;) {
        const info = parseCrlInfo(await fetchCrl());
        if (info.number! > before) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)];
    raw["revocation to served CRL"] = latencies;
    add({ area: "CRL", test: `revocation → new CRL served, ${fmt(SIZES.revokedServed)} entries`, certfleet: `${fmt(median)} ms (median of ${latencies.length})`, peer: "—", ratio: "—", target: "< 1 s", met: median < 1000 ? "yes" : "no" });
  } finally {
    await disconnectDb();
    closeSeedConnections();
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
/**
 * Issuance from a P-256 CSR through the REST API (8 clients) and through the services alone (64
 * concurrent callers — a provisioning burst — so that some sign while a batch commits), over 100
 * devices. Returns the device ids. `openssl speed ecdsap256` sign/s is the physical limit each
 * line is set against.
 */
async function benchIssuance(provider: "sqlite" | "postgresql", server: TestServer, token: string, work: Workdir): Promise<string[]> {
  const devices: string[] = [];
  for (let i = 0; i < 100; i++) devices.push((await createDevice(SYSTEM_ACTOR, { name: `iss-${i}` })).id);
  const csrPem = work.read("bench.csr").toString();
  const body = JSON.stringify({ csr: csrPem });
  let next = 0;
  const api = await load({
    url: server.url,
    connections: 8,
    seconds: SECONDS,
    requests: [{ method: "POST", setupRequest: (req) => ({ ...req, path: `/api/v1/devices/${devices[next++ % devices.length]}/certificates`, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body }) }],
  });
  raw[`issuance api ${provider}`] = api;
  const speed = (raw["openssl speed ecdsap256"] as number | undefined) ?? opensslSpeedEcdsaP256(QUICK ? 1 : 3);
  raw["openssl speed ecdsap256"] = speed;
  const sqlite = provider === "sqlite";
  add({
    area: "Issuance",
    test: `REST API, CSR P-256, 8 clients, ${sqlite ? "SQLite" : "PostgreSQL"}`,
    certfleet: `${fmt(api.rps)} certs/s, p99 ${api.p99} ms${api.non2xx ? `, ${api.non2xx} non-2xx` : ""}`,
    peer: `openssl speed ecdsap256: ${fmt(speed)} sign/s`,
    ratio: `${fmt((api.rps / speed) * 100, 1)}% of sign/s`,
    target: sqlite ? "≥ 300/s" : "— (report)",
    met: sqlite ? (api.rps >= 300 && api.non2xx === 0 ? "yes" : "no") : "—",
  });

  const input = ZIssueCertificate.parse({ csr: csrPem });
  const actor: Actor = SYSTEM_ACTOR;
  const callers = 64;
  let count = 0;
  const until = Date.now() + SECONDS * 1000;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, w) => {
      while (Date.now() < until) {
        await issueDeviceCertificate(actor, devices[(count + w) % devices.length], input);
        count++;
      }
    }),
  );
  const svc = count / ((performance.now() - t) / 1000);
  raw[`issuance services ${provider}`] = svc;
  add({
    area: "Issuance",
    test: `services only (no HTTP), ${callers} concurrent, ${sqlite ? "SQLite" : "PostgreSQL"}`,
    certfleet: `${fmt(svc)} certs/s`,
    peer: `openssl speed ecdsap256: ${fmt(speed)} sign/s`,
    ratio: `${fmt((svc / speed) * 100, 1)}% of sign/s`,
    target: sqlite ? "≥ 2,000/s" : "— (report)",
    met: sqlite ? (svc >= 2000 ? "yes" : "no") : "—",
  });
  return devices;
}

/** The same issuance lines against a server on PostgreSQL. */
async function benchIssuancePostgres(work: Workdir) {
  log("\n== Issuance on PostgreSQL");
  const server = await startBenchServer("postgresql");
  try {
    const token = (await createApiToken(SYSTEM_ACTOR, { name: "bench", role: "operator" })).token;
    await benchIssuance("postgresql", server, token, work);
  } finally {
    await disconnectDb();
    closeSeedConnections();
    await server.stop();
  }
}

async function benchCrlGeneration() {
  log("\n== CRL generation");
  const peer = new OpensslCa();
  peer.create();
  // Each measurement in a fresh process (bench/crl-worker.ts), so its peak RSS is its own.
  const worker = (args: string[]) => JSON.parse(execFileSync(process.execPath, ["--import", "tsx", "bench/crl-worker.ts", ...args], { encoding: "utf8", maxBuffer: 1 << 20 }).trim().split("\n").pop()!);
  // The production path seeds n revoked certificates first (~15 s per 100,000 on SQLite).
  const dbUpTo = QUICK ? 100_000 : 1_000_000;
  for (const n of SIZES.crl) {
    const ours = worker([String(n)]);
    raw[`crl ${n}`] = ours;
    const withDb = n <= dbUpTo ? worker([String(n), "--db"]) : undefined;
    if (withDb) raw[`crl ${n} sqlite`] = withDb;
    let peerMs = NaN;
    let peerText = "—";
    if (n <= 100_000 || !QUICK) {
      peer.writeIndex(n);
      const p = peer.gencrl();
      peerMs = p.ms;
      peerText = `${fmt(p.ms)} ms, ${p.maxRssMb ? fmt(p.maxRssMb) + " MB" : "n/a"}`;
      raw[`crl ${n} peer`] = p;
    }
    const speedup = (ms: number) => (peerMs >= ms ? `${fmt(peerMs / ms, 1)}× faster` : `${fmt(ms / peerMs, 1)}× slower`);
    const ratio = (r: { coldMs: number; resignMs: number }) => (Number.isFinite(peerMs) ? `${speedup(r.coldMs)} (re-sign ${speedup(r.resignMs)})` : "—");
    const target = n === 100_000 ? "≤ ½ peer time" : n === 1_000_000 ? "< 10 s, < 1 GB" : "—";
    const met = (r: { coldMs: number; maxRssMb: number }) =>
      n === 100_000 ? (r.coldMs <= peerMs / 2 ? "yes" : "no") : n === 1_000_000 ? (r.coldMs < 10_000 && r.maxRssMb < 1024 ? "yes" : "no") : "—";
    const text = (r: { coldMs: number; resignMs: number; maxRssMb: number }) => `${fmt(r.coldMs)} ms (re-sign ${fmt(r.resignMs)} ms), ${fmt(r.maxRssMb)} MB`;
    add({ area: "CRL", test: `generate ${fmt(n)} entries (cold: revoked records → signed DER; re-sign)`, certfleet: text(ours), peer: peerText, ratio: ratio(ours), target, met: met(ours) });
    if (withDb) {
      add({ area: "CRL", test: `${fmt(withDb.entries)} entries through the service on SQLite (read revoked rows, sign, store, ready to serve; cold; re-sign)`, certfleet: text(withDb), peer: peerText, ratio: ratio(withDb), target, met: met(withDb) });
    }
  }
}

// ---------------------------------------------------------------------------------------------
async function benchInventory(provider: "sqlite" | "postgresql", deviceCount: number, target: number) {
  log(`\n== Inventory on ${provider}: ${fmt(deviceCount)} devices, ${fmt(deviceCount * 3)} certificates`);
  const server = await startBenchServer(provider);
  try {
    const token = (await createApiToken(SYSTEM_ACTOR, { name: "bench-viewer", role: "viewer" })).token;
    const ca = await defaultIssuingCa();
    const sampleDevice = await createDevice(SYSTEM_ACTOR, { name: "inventory-sample" });
    const sample = await issueDeviceCertificate(SYSTEM_ACTOR, sampleDevice.id, ZIssueCertificate.parse({ generateKey: { algorithm: "EC-P256" } }));
    const sampleRow = await db().certificate.findUniqueOrThrow({ where: { id: sample.certificate.id } });
    const t = performance.now();
    await seedBulk({ caId: ca.id, devices: deviceCount, certsPerDevice: 3, revokedEvery: 97, der: sampleRow.der, spki: sampleRow.publicKeyDer, prefix: "inv", log });
    log(`  seeded in ${fmt((performance.now() - t) / 1000, 1)} s`);
    // A fleet that grew to this size has been vacuumed and analyzed by autovacuum, which the test
    // clusters run without: VACUUM sets the visibility map that index-only counts rely on.
    const v = performance.now();
    await db().$executeRawUnsafe(provider === "postgresql" ? "VACUUM (ANALYZE)" : "ANALYZE");
    log(`  ${provider === "postgresql" ? "VACUUM (ANALYZE)" : "ANALYZE"} in ${fmt((performance.now() - v) / 1000, 1)} s`);

    const n = QUICK ? 15 : 40;
    const scrape = await measureMetricsScrape(server, n);
    raw[`metrics ${provider} ${deviceCount}`] = scrape;
    const scrapeTarget = provider === "postgresql" && deviceCount >= 1_000_000 ? 500 : target;
    add({ area: `Metrics (${provider}, ${fmt(deviceCount / 1000)}k devices)`, test: "GET /metrics (fleet gauges from the database)", certfleet: `p50 ${fmt(scrape.p50, 1)} / p95 ${fmt(scrape.p95, 1)} ms (queries ${fmt(scrape.fleetQueryMs, 1)} ms)`, peer: "—", ratio: "—", target: `p95 < ${scrapeTarget} ms`, met: scrape.p95 < scrapeTarget ? "yes" : "no" });

    const browser = new Browser(server.url);
    if (await browser.signIn("admin@test.local", "admin-password-1")) throw new Error("bench sign-in failed");
    const views: [string, string][] = [
      ["default view", ""],
      ["search", "q=inv-sensor-00012"],
      ["expiring within 30 days", "expiringWithinDays=30"],
    ];
    for (const [name, qs] of views) {
      const apiT = await timings(n, async () => {
        const res = await fetch(`${server.url}/api/v1/devices?${qs}&limit=50`, { headers: { authorization: `Bearer ${token}` } });
        if (res.status !== 200) throw new Error(`API ${res.status}`);
        await res.arrayBuffer();
      });
      const pageT = await timings(n, async () => {
        const res = await browser.fetch(`/devices?${qs}`);
        if (res.status !== 200) throw new Error(`page ${res.status}`);
        await res.arrayBuffer();
      });
      raw[`inventory ${provider} ${deviceCount} ${name}`] = { api: { p50: apiT.p50, p95: apiT.p95 }, page: { p50: pageT.p50, p95: pageT.p95 } };
      add({
        area: `Inventory (${provider}, ${fmt(deviceCount / 1000)}k devices)`,
        test: name,
        certfleet: `API p50 ${fmt(apiT.p50, 1)} / p95 ${fmt(apiT.p95, 1)} ms; page p50 ${fmt(pageT.p50, 1)} / p95 ${fmt(pageT.p95, 1)} ms`,
        peer: "—",
        ratio: "—",
        target: `p95 < ${target} ms`,
        met: apiT.p95 < target && pageT.p95 < target ? "yes" : "no",
      });
    }
  } finally {
    await disconnectDb();
    closeSeedConnections();
    await server.stop();
  }
}

function toMarkdown(machine: string) {
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine}${QUICK ? " (quick run)" : ""}.`,
    "",
    "| Area | Test | CertFleet | OpenSSL peer (same run) | Ratio | Target | Met |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.area} | ${r.test} | ${r.certfleet} | ${r.peer} | ${r.ratio} | ${r.target} | ${r.met} |`),
  ];
  return lines.join("\n") + "\n";
}

async function main() {
  const started = Date.now();
  if (!existsSync(".next/BUILD_ID")) {
    log("no production build: running next build…");
    const r = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit" });
    if (r.status !== 0) throw new Error("next build failed");
  }
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const machine = `${os.cpus().length} × ${cpu}, ${fmt(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${execFileSync("openssl", ["version"], { encoding: "utf8" }).trim().split(" ").slice(0, 2).join(" ")}`;
  log(`CertFleet benchmark (${QUICK ? "quick" : "full"}) on ${machine}`);
  const work = new Workdir();
  try {
    await benchOcspAndIssuance(work);
    await benchCrlGeneration();
    await benchHsm();
    const storm = await (await import("./est-storm")).estStorm({ seconds: SECONDS, log });
    storm.rows.forEach(add);
    raw.estStorm = storm.raw;
    await benchRabbitmq();
    await benchInventory("sqlite", SIZES.inventoryDevices, 150);
    if (await pgAvailable()) {
      await benchIssuancePostgres(work);
      await benchInventory("postgresql", SIZES.inventoryDevices, 150);
      if (PG_1M) await benchInventory("postgresql", 1_000_000, 500);
    } else log("PostgreSQL not reachable: skipping the PostgreSQL lines");
  } finally {
    work.dispose();
  }
  const md = toMarkdown(machine);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", JSON.stringify({ machine, quick: QUICK, at: new Date().toISOString(), rows, raw }, null, 2));
  writeFileSync("bench/results/latest.md", md);
  if (UPDATE_README) {
    const readme = readFileSync("README.md", "utf8");
    const re = /(<!-- bench:start -->\n)[\s\S]*?(<!-- bench:end -->)/;
    if (re.test(readme)) writeFileSync("README.md", readme.replace(re, `$1${md}$2`));
  }
  console.log("\n" + md);
  log(`bench finished in ${fmt((Date.now() - started) / 1000)} s; results in ${path.join("bench", "results")}/`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
