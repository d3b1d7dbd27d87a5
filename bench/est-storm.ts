// Bench line "EST re-enrollment storm": N concurrent devices, each doing a FRESH TLS handshake with
// its client certificate (no keep-alive, no session resumption) and POST simplereenroll with a
// CSR for its own subject (the key is reused, so one CSR per device), taking the new certificate
// as its identity for the next round — on SQLite. Peer: `openssl s_server -Verify 1 -WWW` (client
// certificates required and verified) answering a small GET, driven by the SAME client code, so the
// ratio says how close re-enrollment gets to bare mutual-TLS handshakes on this machine.
// The load generator runs in its own process (this file with --client), apart from both servers.
//   npm run bench            (adds the line)
//   npx tsx bench/est-storm.ts [--seconds 10] [--clients 32] [--cpu-prof DIR]     (alone)
import { spawn, spawnSync } from "node:child_process";
import https from "node:https";
import tls from "node:tls";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import net from "node:net";
import { fmt, type Row } from "./report";

export interface StormResult {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
  firstError?: string;
  /** CPU the load generator spent per completed request (ms): its share of the 2 cores. */
  clientCpuMs?: number;
  /** CPU the server (every process under it) spent per completed request (ms), set by the bench process. */
  serverCpuMs?: number;
}

interface ClientConfig {
  mode: "est" | "peer";
  host: string;
  port: number;
  path: string;
  /** PEM trust anchors for the server certificate. */
  ca: string;
  seconds: number;
  clients: { certPem: string; keyPem: string; csrBase64: string }[];
}

// ---------------------------------------------------------------------------------------------
// The load generator (child process)

/** The one certificate in a certs-only CMS (what EST answers): SignedData's [0] certificates. */
function certificateFromCms(der: Buffer): Buffer {
  // Walks DER by hand (tag, length): ContentInfo → [0] → SignedData → 4th element ([0] certificates) → first.
  const read = (buf: Buffer, at: number) => {
    let len = buf[at + 1];
    let head = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i];
      head += n;
    }
    return { tag: buf[at], start: at + head, end: at + head + len };
  };
  const info = read(der, 0);
  const oid = read(der, info.start);
  const explicit = read(der, oid.end);
  const signedData = read(der, explicit.start);
  let child = read(der, signedData.start); // version
  child = read(der, child.end); // digestAlgorithms
  child = read(der, child.end); // encapContentInfo
  const certs = read(der, child.end);
  if (certs.tag !== 0xa0) throw new Error("no certificates in the CMS");
  const cert = read(der, certs.start);
  return der.subarray(certs.start, cert.end);
}

const toPem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`;

// A device's TLS context (trust anchors, its certificate and key), built when its certificate
// changes — every round for re-enrollment, once for the peer — not per connection.
const contexts = new WeakMap<object, { certPem: string; context: tls.SecureContext }>();
function contextOf(cfg: ClientConfig, client: ClientConfig["clients"][number]): tls.SecureContext {
  const hit = contexts.get(client);
  if (hit?.certPem === client.certPem) return hit.context;
  const context = tls.createSecureContext({ ca: cfg.ca, cert: client.certPem, key: client.keyPem });
  contexts.set(client, { certPem: client.certPem, context });
  return context;
}

function once(cfg: ClientConfig, client: ClientConfig["clients"][number]): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = cfg.mode === "est" ? Buffer.from(client.csrBase64) : undefined;
    const options: https.RequestOptions & tls.ConnectionOptions = {
        host: cfg.host,
        port: cfg.port,
        path: cfg.path,
        method: cfg.mode === "est" ? "POST" : "GET",
        secureContext: contextOf(cfg, client),
        // A new agent per request: a fresh TCP connection and a full handshake (no cached session).
        agent: false,
        headers: { connection: "close", ...(body ? { "content-type": "application/pkcs10", "content-length": String(body.length) } : {}) },
    };
    const req = https.request(
      options,
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("latin1");
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          if (cfg.mode === "est") {
            try {
              client.certPem = toPem(certificateFromCms(Buffer.from(text, "base64")));
            } catch (e) {
              return reject(e);
            }
          }
          resolve();
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function runClients(cfg: ClientConfig): Promise<StormResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  // Warm-up: one round each (JIT, caches), not counted.
  await Promise.all(cfg.clients.map((c) => once(cfg, c).catch(() => undefined)));
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const until = started + cfg.seconds * 1000;
  await Promise.all(
    cfg.clients.map(async (client) => {
      while (performance.now() < until) {
        const t = performance.now();
        try {
          await once(cfg, client);
          latencies.push(performance.now() - t);
        } catch (e) {
          errors++;
          firstError ??= e instanceof Error ? e.message : String(e);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : NaN);
  const cpu = process.cpuUsage(cpuBefore);
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), ok: latencies.length, errors, firstError, clientCpuMs: (cpu.user + cpu.system) / 1000 / Math.max(1, latencies.length) };
}

/** Runs the load generator in its own process (this file with --client) and returns what it measured. */
/**
 * CPU time (ms) of `root` and every process under it, from /proc (utime + stime, in clock ticks of
 * 10 ms): the server is a process tree (tsx, then the primary and its workers).
 */
function treeCpuMs(root: number): number {
  const procs = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return [{ pid: Number(d), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) }];
      } catch {
        return [];
      }
    });
  const inTree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (inTree.has(p.pid) || !inTree.has(p.ppid)) continue;
      inTree.add(p.pid);
      grew = true;
    }
  }
  return procs.filter((p) => inTree.has(p.pid)).reduce((sum, p) => sum + p.ticks * 10, 0);
}

/** loadInChild, with the CPU the process tree under `serverPid` spent per completed request. */
async function loadWithServerCpu(cfg: ClientConfig, dir: string, serverPid: number): Promise<StormResult> {
  const before = treeCpuMs(serverPid);
  const result = await loadInChild(cfg, dir);
  return { ...result, serverCpuMs: (treeCpuMs(serverPid) - before) / Math.max(1, result.ok) };
}

function loadInChild(cfg: ClientConfig, dir: string): Promise<StormResult> {
  const file = path.join(dir, `client-${cfg.mode}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "est-storm.ts"), "--client", file], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as StormResult) : reject(new Error(`load generator exited with ${code}`))));
  });
}

// ---------------------------------------------------------------------------------------------
// Setup (the bench process): a SQLite server with N devices holding CertFleet certificates, and the peer

function openssl(dir: string, args: string[]) {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

// Another loopback address: CertFleet refuses to certify its own host names (127.0.0.1 here).
const PEER_HOST = "127.0.0.3";

const cpu = (ms: number | undefined) => (ms === undefined ? "n/a" : `${ms.toFixed(2)} ms`);

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** The storm against CertFleet and against `openssl s_server`, with the same load generator. */
export async function estStorm(opts: { seconds: number; clients?: number; workers?: number; log?: (line: string) => void; cpuProfileDir?: string }): Promise<{ rows: Row[]; raw: { certfleet: StormResult; handshakes: StormResult; peer: StormResult; clients: number } }> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const n = opts.clients ?? 32;
  const { createTestDatabase } = await import("../tests/helpers/databases");
  const { launchServer, freePort } = await import("../tests/helpers/server");
  const dir = mkdtempSync(path.join(tmpdir(), "certfleet-est-storm-"));
  // --cpu-prof DIR: a V8 CPU profile of the server (written when it stops).
  const profile: Record<string, string> = opts.cpuProfileDir ? { NODE_OPTIONS: `--import ${path.join(import.meta.dirname, "cpu-profile.mjs")}`, CPU_PROFILE_DIR: path.resolve(opts.cpuProfileDir) } : {};
  const workers = opts.workers ?? 1;
  const server = await launchServer(await createTestDatabase("sqlite"), { NODE_ENV: "production", ...profile }, [], { workers });
  try {
    log(`\n== EST re-enrollment storm (${n} devices, fresh mutual-TLS handshake each, SQLite, workers=${workers})`);
    const cli = (...args: string[]) => spawnSync(process.execPath, ["cli/bin.mjs", ...args], { env: { ...process.env, ...server.env }, encoding: "utf8" }).stdout.trim();
    const token = cli("token", "create", "--name", "storm", "--role", "operator");
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const chain = await (await fetch(`${server.url}/pki/ca/issuing-1/chain.pem`)).text();
    writeFileSync(path.join(dir, "chain.pem"), chain);
    const clients: ClientConfig["clients"] = [];
    for (let i = 0; i < n; i++) {
      const name = `storm-${String(i).padStart(3, "0")}`;
      // One key per device, kept across rounds (RFC 7030 allows re-enrollment with the same key): one CSR
      // for the certificate's subject serves every round.
      openssl(dir, ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-subj", `/O=CertFleet/CN=${name}`, "-out", `${name}.csr`]);
      const device = (await (await fetch(`${server.url}/api/v1/devices`, { method: "POST", headers, body: JSON.stringify({ name }) })).json()) as { id: string };
      const issued = (await (await fetch(`${server.url}/api/v1/devices/${device.id}/certificates`, { method: "POST", headers, body: JSON.stringify({ csr: readFileSync(path.join(dir, `${name}.csr`), "utf8") }) })).json()) as { certificatePem: string };
      openssl(dir, ["req", "-in", `${name}.csr`, "-outform", "DER", "-out", `${name}.csr.der`]);
      clients.push({ certPem: issued.certificatePem, keyPem: readFileSync(path.join(dir, `${name}.key`), "utf8"), csrBase64: readFileSync(path.join(dir, `${name}.csr.der`)).toString("base64") });
    }

    // The same handshakes to CertFleet's HTTPS port with a small GET (cacerts from memory): what
    // the TLS side alone costs there, apart from re-enrollment.
    const handshakes = await loadWithServerCpu({ mode: "peer", host: "127.0.0.1", port: server.httpsPort, path: "/.well-known/est/cacerts", ca: chain, seconds: opts.seconds, clients }, dir, server.pid);
    log(`  CertFleet mutual-TLS handshake + GET cacerts: ${handshakes.rps.toFixed(0)}/s, p50 ${handshakes.p50.toFixed(1)} ms, p99 ${handshakes.p99.toFixed(1)} ms, ${handshakes.errors} errors; CPU per request: server ${cpu(handshakes.serverCpuMs)}, load generator ${cpu(handshakes.clientCpuMs)}`);
    const certfleet = await loadWithServerCpu({ mode: "est", host: "127.0.0.1", port: server.httpsPort, path: "/.well-known/est/simplereenroll", ca: chain, seconds: opts.seconds, clients: structuredClone(clients) }, dir, server.pid);
    log(`  CertFleet simplereenroll: ${certfleet.rps.toFixed(0)}/s, p50 ${certfleet.p50.toFixed(1)} ms, p99 ${certfleet.p99.toFixed(1)} ms, ${certfleet.ok} ok, ${certfleet.errors} errors${certfleet.firstError ? ` (${certfleet.firstError})` : ""}; CPU per re-enrollment: server ${cpu(certfleet.serverCpuMs)}, load generator ${cpu(certfleet.clientCpuMs)}`);

    // The peer: OpenSSL's TLS server requiring and verifying the same client certificates, with a
    // server certificate from the same CA (and the same chain sent) as CertFleet's own HTTPS identity,
    // so the client verifies the same on both sides.
    const peerDevice = (await (await fetch(`${server.url}/api/v1/devices`, { method: "POST", headers, body: JSON.stringify({ name: "storm-peer" }) })).json()) as { id: string };
    const peerCert = (await (await fetch(`${server.url}/api/v1/devices/${peerDevice.id}/certificates`, { method: "POST", headers, body: JSON.stringify({ generateKey: { algorithm: "EC-P256" }, profile: "broker-server", sans: { ip: [PEER_HOST] } }) })).json()) as { certificatePem: string; chainPem: string; privateKeyPem: string };
    writeFileSync(path.join(dir, "peer.pem"), peerCert.certificatePem);
    writeFileSync(path.join(dir, "peer-chain.pem"), peerCert.chainPem);
    writeFileSync(path.join(dir, "peer.key"), peerCert.privateKeyPem);
    writeFileSync(path.join(dir, "small.txt"), "ok\n");
    const port = await freePort();
    const peerServer = spawn("openssl", ["s_server", "-accept", `${PEER_HOST}:${port}`, "-cert", "peer.pem", "-cert_chain", "peer-chain.pem", "-key", "peer.key", "-CAfile", "chain.pem", "-Verify", "1", "-WWW", "-quiet"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    peerServer.stderr.resume();
    let peer: StormResult;
    try {
      for (let i = 0; i < 200 && !(await canConnect(PEER_HOST, port)); i++) await new Promise((r) => setTimeout(r, 50));
      peer = await loadWithServerCpu({ mode: "peer", host: PEER_HOST, port, path: "/small.txt", ca: chain, seconds: opts.seconds, clients }, dir, peerServer.pid!);
    } finally {
      peerServer.kill("SIGKILL");
    }
    log(`  openssl s_server -Verify 1 -WWW: ${peer.rps.toFixed(0)}/s, p50 ${peer.p50.toFixed(1)} ms, p99 ${peer.p99.toFixed(1)} ms, ${peer.ok} ok, ${peer.errors} errors${peer.firstError ? ` (${peer.firstError})` : ""}; CPU per request: s_server ${cpu(peer.serverCpuMs)}, load generator ${cpu(peer.clientCpuMs)}`);

    const row: Row = {
      area: "EST",
      test: `re-enrollment storm: ${n} devices, each a fresh mutual-TLS handshake + simplereenroll (SQLite, workers=${workers})`,
      certfleet: `${fmt(certfleet.rps)} re-enrollments/s, p50 ${fmt(certfleet.p50, 1)} ms, p99 ${fmt(certfleet.p99, 1)} ms${certfleet.errors ? `, ${certfleet.errors} errors` : ""} (its HTTPS port, handshake + GET cacerts alone: ${fmt(handshakes.rps)}/s); CPU per re-enrollment: server ${cpu(certfleet.serverCpuMs)} (≈ ${fmt(1000 / (certfleet.serverCpuMs ?? NaN))}/s per core), load generator ${cpu(certfleet.clientCpuMs)}`,
      peer: `openssl s_server -Verify 1 -WWW, same client: ${fmt(peer.rps)} handshakes+GET/s, p99 ${fmt(peer.p99, 1)} ms; s_server CPU ${cpu(peer.serverCpuMs)} per request`,
      ratio: `${fmt((certfleet.rps / peer.rps) * 100)}% of peer`,
      target: "≥ 500/s",
      met: certfleet.rps >= 500 && certfleet.errors === 0 ? "yes" : "no",
    };
    return { rows: [row], raw: { certfleet, handshakes, peer, clients: n } };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

if (process.argv[2] === "--client") {
  const cfg = JSON.parse(readFileSync(process.argv[3], "utf8")) as ClientConfig;
  runClients(cfg).then(
    (r) => {
      process.stdout.write(JSON.stringify(r));
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
  const prof = process.argv.indexOf("--cpu-prof");
  estStorm({ seconds: arg("--seconds", 10), clients: arg("--clients", 32), cpuProfileDir: prof > 0 ? process.argv[prof + 1] : undefined }).then(
    ({ rows }) => {
      console.log(rows);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
