// `npm run bench [-- --quick] [-- --only ocsp,crl-get] [-- --workers 1,2] [-- --update-readme]`:
// CertFleet against its OpenSSL peer, measured in the same run on the same machine. Prints a table
// and writes bench/results/latest.{json,md}. Benchmarks are a script, never timed tests.
//
// Lines (--only takes any of them, comma-separated; default all): ocsp, ceiling, crl-get,
// issuance, est, revocation-crl (bench/http.ts: a running server per CERTFLEET_WORKERS count,
// loaded with wrk), crl-gen, hsm, inventory, pg-issuance. --workers sets the worker counts of the
// HTTP lines (default 1 and one per core).
import os from "node:os";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { Browser } from "../tests/helpers/http";
import { Workdir } from "../tests/helpers/openssl";
import { db, disconnectDb } from "../lib/db";
import { SYSTEM_ACTOR } from "../lib/auth/roles";
import { createApiToken } from "../lib/services/tokens";
import { createDevice } from "../lib/services/devices";
import { issueDeviceCertificate } from "../lib/services/certificates";
import { defaultIssuingCa } from "../lib/services/cas";
import { ZIssueCertificate } from "../lib/validation/certificates";
import { timings } from "./load";
import { measureMetricsScrape } from "./metrics";
import { closeSeedConnections, seedBulk } from "./seed";
import { OpensslCa } from "./peer";
import { add, fmt, log, raw, rows } from "./report";
import { benchHttpLines, issuanceLines, pointAtDatabase, prepareBenchServer, startBenchServer, stopBenchServer } from "./http";
import { WRK_CONNECTIONS, WRK_THREADS } from "./wrk";

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
const LINES = ["ocsp", "ceiling", "crl-get", "issuance", "est", "revocation-crl", "crl-gen", "hsm", "rabbitmq", "inventory", "pg-issuance"];
const onlyArg = argv.indexOf("--only");
const ONLY = onlyArg >= 0 ? new Set(argv[onlyArg + 1].split(",")) : null;
for (const line of ONLY ?? []) if (!LINES.includes(line)) throw new Error(`--only: unknown line "${line}" (lines: ${LINES.join(", ")})`);
const wants = (line: string) => !ONLY || ONLY.has(line);
const workersArg = argv.indexOf("--workers");
const WORKERS = workersArg >= 0 ? [...new Set(argv[workersArg + 1].split(",").map(Number))] : [...new Set([1, os.availableParallelism()])];
if (WORKERS.some((w) => !Number.isInteger(w) || w < 1)) throw new Error("--workers: positive integers, e.g. 1,2");

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

/** The issuance lines against a server on PostgreSQL (one worker count: the first asked for). */
async function benchIssuancePostgres(work: Workdir) {
  log("\n== Issuance on PostgreSQL");
  process.env.CERTFLEET_TEST_PG_URL = PG_URL;
  const s = await prepareBenchServer("postgresql", WORKERS[0], work.read("bench.csr").toString());
  try {
    await issuanceLines("postgresql", [s], { seconds: SECONDS, quick: QUICK, work });
  } finally {
    await disconnectDb();
    closeSeedConnections();
    await stopBenchServer(s);
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
  const server = await startBenchServer(provider, WORKERS[0]);
  await pointAtDatabase(server.database);
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
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine}${QUICK ? " (quick run)" : ""}${ONLY ? ` (only ${[...ONLY].join(", ")})` : ""}. HTTP load: wrk -t${WRK_THREADS} -c${WRK_CONNECTIONS} (one load-generator thread; its CPU is given with each result), CertFleet with CERTFLEET_WORKERS ${WORKERS.join(" and ")}.`,
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
  log(`CertFleet benchmark (${QUICK ? "quick" : "full"}${ONLY ? `, only ${[...ONLY].join(", ")}` : ""}) on ${machine}`);
  const work = new Workdir();
  try {
    const httpLines = ["ocsp", "ceiling", "crl-get", "issuance", "est", "revocation-crl"];
    if (httpLines.some(wants)) await benchHttpLines({ seconds: SECONDS, quick: QUICK, workers: WORKERS, wants, revokedServed: SIZES.revokedServed, work });
    if (wants("crl-gen")) await benchCrlGeneration();
    if (wants("hsm")) await benchHsm();
    if (wants("rabbitmq")) await benchRabbitmq();
    if (wants("inventory")) await benchInventory("sqlite", SIZES.inventoryDevices, 150);
    if ((wants("pg-issuance") || wants("inventory")) && (await pgAvailable())) {
      if (wants("pg-issuance")) {
        if (!existsSync(work.path("bench.csr"))) work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "bench.key", "-subj", "/CN=bench", "-out", "bench.csr"]);
        await benchIssuancePostgres(work);
      }
      if (wants("inventory")) {
        await benchInventory("postgresql", SIZES.inventoryDevices, 150);
        if (PG_1M) await benchInventory("postgresql", 1_000_000, 500);
      }
    } else if (wants("pg-issuance") || wants("inventory")) log("PostgreSQL not reachable: skipping the PostgreSQL lines");
  } finally {
    work.dispose();
  }
  const md = toMarkdown(machine);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", JSON.stringify({ machine, quick: QUICK, only: ONLY ? [...ONLY] : null, workers: WORKERS, at: new Date().toISOString(), rows, raw }, null, 2));
  writeFileSync("bench/results/latest.md", md);
  // The README's table is a full run's: a run of some lines never replaces it.
  if (UPDATE_README && !ONLY) {
    const readme = readFileSync("README.md", "utf8");
    const re = /(<!-- bench:start -->\n)[\s\S]*?(<!-- bench:end -->)/;
    // Lines measured between full runs (a partial run on a busy machine) give way to the full run's table.
    const interim = /<!-- interim:start -->[\s\S]*?<!-- interim:end -->\n*/;
    if (re.test(readme)) writeFileSync("README.md", readme.replace(re, `$1${md}$2`).replace(interim, ""));
  }
  console.log("\n" + md);
  log(`bench finished in ${fmt((Date.now() - started) / 1000)} s; results in ${path.join("bench", "results")}/`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
