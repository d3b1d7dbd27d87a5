// The bench lines that load a running server over HTTP, each for every CERTFLEET_WORKERS count
// asked for (default 1 and one per core): OCSP against `openssl ocsp -multi <cores>`, CRL GET,
// issuance (REST API, and through the services in one process and in N processes on one SQLite
// file), revocation → new CRL served, and the EST re-enrollment storm when bench/est-storm.ts is
// there. Every HTTP line's load comes from wrk (bench/wrk.ts) with one thread (-t1): its CPU is
// reported with each result, and it is the same for CertFleet and the peer.
import os from "node:os";
import { execFileSync, spawn } from "node:child_process";
import http from "node:http";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "../tests/helpers/databases";
import { launchServer, freePort, type TestServer } from "../tests/helpers/server";
import { Workdir } from "../tests/helpers/openssl";
import { resetConfigForTests } from "../lib/config";
import { resetSecretsForTests } from "../lib/secrets";
import { db, disconnectDb } from "../lib/db";
import { SYSTEM_ACTOR, type Actor } from "../lib/auth/roles";
import { createDevice } from "../lib/services/devices";
import { issueDeviceCertificate } from "../lib/services/certificates";
import { defaultIssuingCa, forgetSignersForTests } from "../lib/services/cas";
import { ZIssueCertificate } from "../lib/validation/certificates";
import { parseCrlInfo } from "../lib/pki/crl-reader";
import { closeSeedConnections, seedBulk } from "./seed";
import { OpensslCa, opensslSpeedEcdsaP256 } from "./peer";
import { describeLoad, wrk, WRK_CONNECTIONS, WRK_THREADS, type LoadResult, type WrkRequest } from "./wrk";
import { startPlainServer } from "./ceiling";
import { add, fmt, log, raw } from "./report";

export interface HttpBenchOptions {
  seconds: number;
  quick: boolean;
  /** CERTFLEET_WORKERS values to measure, e.g. [1, 2]. */
  workers: number[];
  /** Whether a line (ocsp, ceiling, crl-get, issuance, revocation-crl, est) was asked for. */
  wants(line: string): boolean;
  revokedServed: number;
  work: Workdir;
}

/** A running server and what the lines need of it. */
export interface BenchServer {
  workers: number;
  server: TestServer;
  token: string;
  /** The OCSP target's certificate and its issuer, as files in the server's own workdir. */
  work: Workdir;
}

const label = (workers: number) => `workers=${workers}`;
const ocspHeaders = { "content-type": "application/ocsp-request" };
const NONCE_REQUESTS = 2_000;

/** Points this process's lib/ at the server's database (for seeding and service-level runs). */
export async function pointAtDatabase(database: TestDatabase) {
  await disconnectDb();
  closeSeedConnections();
  process.env.DATABASE_URL = database.url;
  process.env.CERTFLEET_DATA_DIR = database.dataDir;
  resetConfigForTests();
  resetSecretsForTests();
  forgetSignersForTests();
}

function cliToken(server: TestServer, role: string): string {
  return execFileSync(process.execPath, ["cli/bin.mjs", "token", "create", "--name", `bench-${randomBytes(3).toString("hex")}`, "--role", role], { env: { ...process.env, ...server.env }, encoding: "utf8" }).trim().split("\n").pop()!;
}

export async function startBenchServer(provider: "sqlite" | "postgresql", workers: number): Promise<TestServer> {
  const database = await createTestDatabase(provider);
  return launchServer(database, { NODE_ENV: "production" }, [], { workers });
}

async function enrollWithCsr(server: TestServer, token: string, csrPem: string, name: string) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const device = await (await fetch(`${server.url}/api/v1/devices`, { method: "POST", headers, body: JSON.stringify({ name }) })).json();
  const issued = await (await fetch(`${server.url}/api/v1/devices/${device.id}/certificates`, { method: "POST", headers, body: JSON.stringify({ csr: csrPem }) })).json();
  return { deviceId: device.id as string, pem: issued.certificatePem as string, chain: issued.chainPem as string };
}

/**
 * `count` copies of an OpenSSL OCSP request with a nonce, each with its own random nonce: the
 * 16 bytes after the nonce extension's OID (1.3.6.1.5.5.7.48.1.2) and its OCTET STRING headers.
 */
export function withDistinctNonces(request: Buffer, count: number): Buffer[] {
  const oid = Buffer.from("06092b0601050507300102", "hex");
  const at = request.indexOf(oid);
  const inner = at < 0 ? -1 : request.indexOf(Buffer.from("0410", "hex"), at + oid.length);
  if (at < 0 || inner < 0 || inner > at + oid.length + 4 || inner + 18 > request.length) throw new Error("no 16-byte nonce found in the OCSP request");
  return Array.from({ length: count }, () => {
    const copy = Buffer.from(request);
    randomBytes(16).copy(copy, inner + 2);
    return copy;
  });
}

/** A body fetched on a connection of its own (a new connection goes to the next worker). */
function freshGet(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

export async function prepareBenchServer(provider: "sqlite" | "postgresql", workers: number, csrPem: string): Promise<BenchServer> {
  const server = await startBenchServer(provider, workers);
  const token = cliToken(server, "operator");
  const work = new Workdir();
  const leaf = await enrollWithCsr(server, token, csrPem, "ocsp-target");
  work.file("leaf.pem", leaf.pem);
  work.file("issuing.pem", leaf.chain.split(/(?<=-----END CERTIFICATE-----\n)/)[0]);
  work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "cf.req"]);
  work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "leaf.pem", "-reqout", "cf-nonce.req"]);
  return { workers, server, token, work };
}

export async function stopBenchServer(s: BenchServer) {
  s.work.dispose();
  await s.server.stop();
}

export async function benchHttpLines(o: HttpBenchOptions) {
  const { seconds, work } = o;
  const cores = os.availableParallelism();
  const loadNote = `wrk -t${WRK_THREADS} -c${WRK_CONNECTIONS}`;
  log(`\n== HTTP lines on SQLite (${loadNote}, ${seconds} s each; CERTFLEET_WORKERS ${o.workers.join(", ")})`);
  work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "bench.key", "-subj", "/CN=bench", "-out", "bench.csr"]);
  const csrPem = work.read("bench.csr").toString();
  const servers: BenchServer[] = [];
  try {
    for (const w of o.workers) servers.push(await prepareBenchServer("sqlite", w, csrPem));

    if (o.wants("ocsp")) await ocspLines(servers, seconds, cores);
    if (o.wants("ceiling")) await ceilingLines(servers, seconds);
    if (o.wants("crl-get")) {
      for (const s of servers) {
        const r = await wrk({ base: s.server.url, seconds, requests: [{ path: "/pki/crl/issuing-1.crl" }] });
        raw[`crl get ${label(s.workers)}`] = r;
        add({ area: "CRL", test: `GET DER CRL (a few entries), ${label(s.workers)}`, certfleet: describeLoad(r), peer: "—", ratio: "—", target: "—", met: "—" });
      }
    }
    if (o.wants("issuance")) await issuanceLines("sqlite", servers, o);
    if (o.wants("est")) await estStormLines(servers, o);
    if (o.wants("revocation-crl")) for (const s of servers) await revocationToCrl(s, o.revokedServed);
  } finally {
    await disconnectDb();
    closeSeedConnections();
    for (const s of servers) await stopBenchServer(s);
  }
}

async function ocspLines(servers: BenchServer[], seconds: number, cores: number) {
  const peer = new OpensslCa();
  peer.create();
  peer.writeIndex(1000);
  const peerPort = await freePort();
  const peerBase = `http://127.0.0.1:${peerPort}`;
  const peerReq = peer.ocspRequest(false);
  const peerNonces = withDistinctNonces(peer.ocspRequest(true), NONCE_REQUESTS);
  // A fresh responder for every case: connections the load generator drops at the end of a run
  // can leave openssl's few workers waiting on a read.
  const withPeer = async <T>(fn: () => Promise<T>) => {
    const stop = await peer.startResponder(peerPort, cores);
    try {
      return await fn();
    } finally {
      stop();
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  const getPath = (der: Buffer) => `/${encodeURIComponent(der.toString("base64"))}`;
  type Case = { name: string; ours: (s: BenchServer) => WrkRequest[]; theirs: WrkRequest[]; target: number; p99?: number };
  const cases: Case[] = [
    { name: "POST, no nonce", ours: (s) => [{ method: "POST", path: "/pki/ocsp/issuing-1", body: s.work.read("cf.req"), headers: ocspHeaders }], theirs: [{ method: "POST", path: "/", body: peerReq, headers: ocspHeaders }], target: 4, p99: 10 },
    { name: "GET, no nonce", ours: (s) => [{ path: `/pki/ocsp/issuing-1${getPath(s.work.read("cf.req"))}` }], theirs: [{ path: getPath(peerReq) }], target: 4, p99: 10 },
    {
      name: `POST with nonce (${fmt(NONCE_REQUESTS)} distinct requests, rotated)`,
      ours: (s) => withDistinctNonces(s.work.read("cf-nonce.req"), NONCE_REQUESTS).map((body) => ({ method: "POST", path: "/pki/ocsp/issuing-1", body, headers: ocspHeaders })),
      theirs: peerNonces.map((body) => ({ method: "POST", path: "/", body, headers: ocspHeaders })),
      target: 2,
    },
  ];
  for (const c of cases) {
    const theirs = await withPeer(() => wrk({ base: peerBase, seconds, requests: c.theirs }));
    raw[`ocsp ${c.name} peer`] = theirs;
    for (const s of servers) {
      const ours = await wrk({ base: s.server.url, seconds, requests: c.ours(s) });
      raw[`ocsp ${c.name} ${label(s.workers)}`] = ours;
      const ratio = ours.rps / theirs.rps;
      // The targets are the product's, on every core; the one-process line is reported beside it.
      const judged = s.workers === cores;
      const met = ratio >= c.target && (c.p99 === undefined || ours.p99 < c.p99) && ours.errors + ours.non2xx === 0;
      add({
        area: "OCSP",
        test: `${c.name}, ${label(s.workers)}`,
        certfleet: describeLoad(ours),
        peer: `openssl ocsp -multi ${cores}: ${describeLoad(theirs)}`,
        ratio: `${fmt(ratio, 1)}×`,
        target: judged ? `≥ ${c.target}× peer${c.p99 ? `, p99 < ${c.p99} ms` : ""}` : "— (report)",
        met: judged ? (met ? "yes" : "no") : "—",
      });
    }
  }
}

/** The plain Node http ceiling, one process and N, with the same nonce-less OCSP POST. */
async function ceilingLines(servers: BenchServer[], seconds: number) {
  for (const s of servers) {
    const plain = await startPlainServer(await freePort(), s.workers);
    try {
      const r = await wrk({ base: plain.url, seconds, requests: [{ method: "POST", path: "/", body: s.work.read("cf.req"), headers: ocspHeaders }] });
      raw[`ceiling ${label(s.workers)}`] = r;
      const ours = raw[`ocsp POST, no nonce ${label(s.workers)}`] as LoadResult | undefined;
      add({
        area: "Ceiling",
        test: `plain Node http, fixed 1.2 KB body, ${s.workers === 1 ? "one process" : `${s.workers} cluster workers`}`,
        certfleet: ours ? `nonce-less OCSP POST above: ${fmt(ours.rps)} req/s` : "—",
        peer: `plain: ${describeLoad(r)}`,
        ratio: ours ? `${fmt((ours.rps / r.rps) * 100)}% of the ceiling` : "—",
        target: "—",
        met: "—",
      });
    } finally {
      plain.stop();
    }
  }
}

/**
 * Issuance from a P-256 CSR: through the REST API (wrk, 8 connections, one device after another)
 * per worker count; through the services alone in this process (64 concurrent callers — a
 * provisioning burst — so that some sign while a batch commits); and through the services in N
 * processes at once on the N-worker server's database (64 callers in all), which is what N
 * workers issuing do to one SQLite file. `openssl speed ecdsap256` sign/s is the physical limit
 * each line is set against.
 */
export async function issuanceLines(provider: "sqlite" | "postgresql", servers: BenchServer[], o: Pick<HttpBenchOptions, "seconds" | "quick" | "work">) {
  const sqlite = provider === "sqlite";
  const dbName = sqlite ? "SQLite" : "PostgreSQL";
  const speed = (raw["openssl speed ecdsap256"] as number | undefined) ?? opensslSpeedEcdsaP256(o.quick ? 1 : 3);
  raw["openssl speed ecdsap256"] = speed;
  const peerText = `openssl speed ecdsap256: ${fmt(speed)} sign/s`;
  const csrPem = o.work.read("bench.csr").toString();
  const body = JSON.stringify({ csr: csrPem });
  const devicesOf = new Map<BenchServer, string[]>();
  for (const s of servers) {
    await pointAtDatabase(s.server.database);
    const devices: string[] = [];
    for (let i = 0; i < 100; i++) devices.push((await createDevice(SYSTEM_ACTOR, { name: `iss-${i}` })).id);
    devicesOf.set(s, devices);
    const api = await wrk({
      base: s.server.url,
      seconds: o.seconds,
      connections: 8,
      requests: devices.map((d) => ({ method: "POST", path: `/api/v1/devices/${d}/certificates`, body, headers: { authorization: `Bearer ${s.token}`, "content-type": "application/json" } })),
    });
    raw[`issuance api ${provider} ${label(s.workers)}`] = api;
    add({
      area: "Issuance",
      test: `REST API, CSR P-256, wrk 8 connections, ${dbName}, ${label(s.workers)}`,
      certfleet: describeLoad(api, "certs/s"),
      peer: peerText,
      ratio: `${fmt((api.rps / speed) * 100, 1)}% of sign/s`,
      target: sqlite && s.workers === 1 ? "≥ 300/s" : "— (report)",
      met: sqlite && s.workers === 1 ? (api.rps >= 300 && api.non2xx + api.errors === 0 ? "yes" : "no") : "—",
    });
  }

  // In this process, on the first server's database: the group commit of one process.
  const first = servers[0];
  await pointAtDatabase(first.server.database);
  const input = ZIssueCertificate.parse({ csr: csrPem });
  const actor: Actor = SYSTEM_ACTOR;
  const devices = devicesOf.get(first)!;
  const callers = 64;
  let count = 0;
  const until = Date.now() + o.seconds * 1000;
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
    test: `services only (no HTTP), ${callers} concurrent, one process, ${dbName}`,
    certfleet: `${fmt(svc)} certs/s`,
    peer: peerText,
    ratio: `${fmt((svc / speed) * 100, 1)}% of sign/s`,
    target: sqlite ? "≥ 2,000/s" : "— (report)",
    met: sqlite ? (svc >= 2000 ? "yes" : "no") : "—",
  });

  for (const s of servers.filter((x) => x.workers > 1)) {
    const multi = await issueInProcesses(s, devicesOf.get(s)!, callers, o.seconds, o.work);
    raw[`issuance services ${provider} ${s.workers} processes`] = multi;
    add({
      area: "Issuance",
      test: `services only (no HTTP), ${callers} concurrent over ${s.workers} processes on one database, ${dbName}`,
      certfleet: `${fmt(multi)} certs/s`,
      peer: peerText,
      ratio: `${fmt((multi / speed) * 100, 1)}% of sign/s`,
      target: "— (report)",
      met: "—",
    });
  }
}

/** Certificates per second issued by `processes` fresh processes (bench/issuance-proc.ts) started together. */
async function issueInProcesses(s: BenchServer, devices: string[], callers: number, seconds: number, work: Workdir): Promise<number> {
  const devicesFile = work.file("devices.json", JSON.stringify(devices));
  const csrFile = work.path("bench.csr");
  const children = Array.from({ length: s.workers }, () =>
    spawn(process.execPath, ["--import", "tsx", path.join("bench", "issuance-proc.ts"), String(seconds), String(Math.ceil(callers / s.workers)), csrFile, devicesFile], {
      env: { ...process.env, DATABASE_URL: s.server.database.url, CERTFLEET_DATA_DIR: s.server.database.dataDir },
      stdio: ["pipe", "pipe", "inherit"],
    }),
  );
  const outputs = children.map((c) => {
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    return { ready: new Promise<void>((resolve) => c.stdout.on("data", () => out.includes("READY") && resolve())), done: new Promise<string>((resolve) => c.once("exit", () => resolve(out))) };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const c of children) c.stdin.write("go\n");
  const results = (await Promise.all(outputs.map((o) => o.done))).map((out) => JSON.parse(out.trim().split("\n").pop()!) as { count: number; seconds: number });
  return results.reduce((sum, r) => sum + r.count / r.seconds, 0);
}

/**
 * The EST re-enrollment storm (bench/est-storm.ts: its own server and client process, mutual TLS, so
 * not wrk) for each worker count. Target: the N-worker figure ≥ 1.6× the one-worker figure.
 */
async function estStormLines(servers: BenchServer[], o: HttpBenchOptions) {
  const { estStorm } = await import("./est-storm");
  const rates: number[] = [];
  for (const s of servers) {
    const storm = await estStorm({ seconds: o.seconds, workers: s.workers, log });
    storm.rows.forEach(add);
    raw[`estStorm_${label(s.workers)}`] = storm.raw;
    rates.push(storm.raw.certfleet.rps);
  }
  if (rates.length > 1) {
    const scale = rates[rates.length - 1] / rates[0];
    add({ area: "EST", test: `re-enrollment storm scaling, ${label(servers[servers.length - 1].workers)} vs ${label(servers[0].workers)}`, certfleet: `${fmt(scale, 2)}×`, peer: "—", ratio: "—", target: "≥ 1.6×", met: scale >= 1.6 ? "yes" : "no" });
  }
}

/** Time from a revocation to the new CRL being served, with many revoked entries on the CRL. */
async function revocationToCrl(s: BenchServer, revokedServed: number) {
  await pointAtDatabase(s.server.database);
  log(`  seeding ${fmt(revokedServed)} revoked certificates (${label(s.workers)})…`);
  const ca = await defaultIssuingCa();
  const sample = await db().certificate.findFirstOrThrow({ where: { caId: ca.id } });
  await seedBulk({ caId: ca.id, devices: revokedServed, certsPerDevice: 1, revokedEvery: 1, der: sample.der, spki: sample.publicKeyDer, prefix: "rv" });
  await db().certificateAuthority.update({ where: { id: ca.id }, data: { revocationVersion: { increment: 1 } } });
  const crlUrl = `${s.server.url}/pki/crl/issuing-1.crl`;
  const fetchCrl = async () => Buffer.from(await (await fetch(crlUrl)).arrayBuffer());
  for (let i = 0; i < 300 && parseCrlInfo(await fetchCrl()).count < revokedServed; i++) await new Promise((r) => setTimeout(r, 100));
  const victims: string[] = [];
  for (let i = 0; i < 3; i++) {
    const device = await createDevice(SYSTEM_ACTOR, { name: `victim-${i}` });
    victims.push((await issueDeviceCertificate(SYSTEM_ACTOR, device.id, ZIssueCertificate.parse({ generateKey: { algorithm: "EC-P256" } }))).certificate.id);
  }
  const latencies: number[] = [];
  for (const id of victims) {
    const before = parseCrlInfo(await fetchCrl()).number!;
    const t0 = performance.now();
    const res = await fetch(`${s.server.url}/api/v1/certificates/${id}/revoke`, { method: "POST", headers: { authorization: `Bearer ${s.token}`, "content-type": "application/json" }, body: JSON.stringify({ reason: "keyCompromise" }) });
    if (res.status !== 200) throw new Error(`revoke failed: ${res.status}`);
    // Every worker must serve it: with N workers, N answers in a row on fresh connections.
    for (let served = 0; served < s.workers; ) {
      const info = parseCrlInfo(await freshGet(crlUrl));
      if (info.number! > before) served++;
      else {
        served = 0;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  const median = latencies[Math.floor(latencies.length / 2)];
  raw[`revocation to served CRL ${label(s.workers)}`] = latencies;
  add({ area: "CRL", test: `revocation → new CRL served by every worker, ${fmt(revokedServed)} entries, ${label(s.workers)}`, certfleet: `${fmt(median)} ms (median of ${latencies.length})`, peer: "—", ratio: "—", target: "< 1 s", met: median < 1000 ? "yes" : "no" });
}
