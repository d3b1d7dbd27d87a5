// The server with two cluster workers (CERTFLEET_WORKERS=2), as brokers and operators see it:
// every worker answers a revocation made through another within a second (OCSP checked by
// `openssl ocsp`, CRLs by `openssl crl`), CRL numbers only go up while both workers revoke at
// once, a killed worker is replaced, and SIGTERM lets a request in flight finish.
//
// Which worker answers is not asked of the server: every request here goes on a fresh connection
// (agent: false), and the primary hands new connections to the workers in turn, so a series of
// requests reaches each worker again and again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { createTestDatabase, testProviders } from "../helpers/databases";
import { launchServer, type TestServer } from "../helpers/server";
import { Workdir } from "../helpers/openssl";
import { resetConfigForTests } from "@/lib/config";
import { resetSecretsForTests } from "@/lib/secrets";
import { db, disconnectDb } from "@/lib/db";
import { SYSTEM_ACTOR } from "@/lib/auth/roles";
import { verifyAuditChain } from "@/lib/services/audit";

const WORKERS = 2;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on its own connection. */
function fresh(base: string, path: string, options: { method?: string; body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: options.method ?? "GET", agent: false, headers: { connection: "close", ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer to ${path} within 30 s`)));
    req.end(options.body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function workerPids(logs: string): number[] {
  const died = new Set([...logs.matchAll(/worker (\d+) died/g)].map((m) => Number(m[1])));
  return [...logs.matchAll(/worker (\d+) listening/g)].map((m) => Number(m[1])).filter((pid) => !died.has(pid));
}

describe.each(testProviders())("%s server with two workers", (provider) => {
  let server: TestServer;
  let token: string;
  let work: Workdir;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fresh(server.url, path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) } });
    return { status: res.status, data: JSON.parse(res.body.toString() || "null") };
  };

  /** A device with a certificate from a CSR; its PEM is written to `<name>.pem`. */
  async function enroll(name: string) {
    const device = await api("POST", "/api/v1/devices", { name });
    expect(device.status).toBe(201);
    work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`]);
    const issued = await api("POST", `/api/v1/devices/${device.data.id}/certificates`, { csr: work.read(`${name}.csr`).toString() });
    expect(issued.status).toBe(201);
    work.file(`${name}.pem`, issued.data.certificatePem);
    return { certId: issued.data.certificate.id as string, serial: issued.data.certificate.serialHex as string };
  }

  /** `n` OCSP answers for the certificate, each from a fresh connection, as `openssl ocsp` reads them. */
  async function ocspStatuses(name: string, n: number): Promise<string[]> {
    work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", `${name}.pem`, "-no_nonce", "-reqout", `${name}.req`]);
    const request = work.read(`${name}.req`);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fresh(server.url, "/pki/ocsp/issuing-1", { method: "POST", body: request, headers: { "content-type": "application/ocsp-request" } });
      expect(res.status).toBe(200);
      work.file(`${name}-${i}.resp`, res.body);
      const text = work.ok(["ocsp", "-respin", `${name}-${i}.resp`, "-issuer", "issuing.pem", "-cert", `${name}.pem`, "-CAfile", "root.pem"]);
      out.push(/: (good|revoked|unknown)/.exec(text)?.[1] ?? text);
    }
    return out;
  }

  /** The CRL from a fresh connection: its number, its serials (upper-case hex, no leading zeros) and its bytes. */
  async function crl(tag: string): Promise<{ number: number; serials: Set<string>; der: Buffer }> {
    const res = await fresh(server.url, "/pki/crl/issuing-1.crl");
    expect(res.status).toBe(200);
    work.file(`${tag}.crl`, res.body);
    const text = work.ok(["crl", "-inform", "DER", "-in", `${tag}.crl`, "-noout", "-text"]);
    const number = Number(/X509v3 CRL Number:\s*\n?\s*(\d+)/.exec(text)?.[1]);
    const serials = new Set([...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1].replace(/^0+/, "")));
    return { number, serials, der: res.body };
  }
  const norm = (serial: string) => serial.toUpperCase().replace(/^0+/, "");

  beforeAll(async () => {
    server = await launchServer(await createTestDatabase(provider), {}, [], { workers: WORKERS });
    token = execFileSync(process.execPath, ["cli/bin.mjs", "token", "create", "--name", "ops", "--role", "operator"], { env: { ...process.env, ...server.env }, encoding: "utf8" }).trim();
    work = new Workdir();
    work.file("root.pem", (await fresh(server.url, "/pki/ca/root.pem")).body);
    work.file("issuing.pem", (await fresh(server.url, "/pki/ca/issuing-1.pem")).body);
  }, 240_000);
  afterAll(async () => {
    work?.dispose();
    await disconnectDb();
    await server?.stop();
  });

  it("starts the workers it was asked for, with one HTTPS certificate between them", async () => {
    expect(workerPids(server.logs())).toHaveLength(WORKERS);
    // The primary issued the server certificate once, before forking: the audit trail has one.
    const serials = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const text = execFileSync("sh", ["-c", `openssl s_client -connect 127.0.0.1:${server.httpsPort} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial`], { encoding: "utf8" });
      serials.add(text.trim());
    }
    expect(serials.size).toBe(1);
  }, 60_000);

  it("sums every process's counters in /metrics, whichever worker answers the scrape", async () => {
    const metricsToken = execFileSync(process.execPath, ["cli/bin.mjs", "token", "create", "--name", "prometheus", "--role", "metrics"], { env: { ...process.env, ...server.env }, encoding: "utf8" }).trim();
    const crlGets = async () => {
      const res = await fresh(server.url, "/metrics", { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(res.status).toBe(200);
      const line = /^certfleet_broker_http_request_duration_seconds_count\{endpoint="crl",method="GET",code="200"\} (\d+)$/m.exec(res.body.toString());
      return Number(line?.[1] ?? 0);
    };
    const before = await crlGets();
    for (let i = 0; i < 20; i++) expect((await fresh(server.url, "/pki/crl/issuing-1.crl")).status).toBe(200);
    // Fresh connections reach both workers in turn: each scrape, whoever takes it, counts all 20.
    const after = [];
    for (let i = 0; i < 4; i++) after.push(await crlGets());
    expect(after).toEqual(Array(4).fill(before + 20));
  }, 60_000);

  it("answers a revocation made through one worker as revoked by OCSP and the CRL of every worker within a second", async () => {
    const victim = await enroll("victim");
    // Every worker has its "good" answer cached, and serves a CRL without the serial.
    expect(new Set(await ocspStatuses("victim", 8))).toEqual(new Set(["good"]));
    for (let i = 0; i < 4; i++) expect((await crl(`before-${i}`)).serials.has(norm(victim.serial))).toBe(false);

    const revoked = await api("POST", `/api/v1/certificates/${victim.certId}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    await sleep(1_000);

    expect(await ocspStatuses("victim", 8)).toEqual(Array(8).fill("revoked"));
    for (let i = 0; i < 4; i++) expect((await crl(`after-${i}`)).serials.has(norm(victim.serial))).toBe(true);
  }, 120_000);

  it("keeps CRL numbers strictly increasing while both workers revoke at once", async () => {
    const victims = [];
    for (let i = 0; i < 30; i += 10) {
      victims.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, async (_, k) => {
            const device = await api("POST", "/api/v1/devices", { name: `bulk-${i + k}` });
            const issued = await api("POST", `/api/v1/devices/${device.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
            return { certId: issued.data.certificate.id as string, serial: issued.data.certificate.serialHex as string };
          }),
        )),
      );
    }

    // A client that alternates between the workers (fresh connections) while the revocations land.
    const seen: { number: number; serials: Set<string>; der: Buffer }[] = [];
    let revoking = true;
    const watcher = (async () => {
      while (revoking) {
        seen.push(await crl(`w${seen.length}`));
        await sleep(30);
      }
    })();
    // In waves of parallel revocations, each on its own connection: both workers revoke at once.
    for (let i = 0; i < victims.length; i += 6) {
      const wave = victims.slice(i, i + 6);
      const results = await Promise.all(wave.map((v) => api("POST", `/api/v1/certificates/${v.certId}/revoke`, { reason: "cessationOfOperation" })));
      expect(results.map((r) => r.status)).toEqual(wave.map(() => 200));
      await sleep(150);
    }
    await sleep(1_500);
    revoking = false;
    await watcher;
    for (let i = 0; i < 4; i++) seen.push(await crl(`final-${i}`));

    // Every worker ends on a CRL with every revocation.
    for (const last of seen.slice(-4)) expect(victims.map((v) => norm(v.serial)).filter((s) => !last.serials.has(s))).toEqual([]);
    // Numbers never go down from one answer to the next, whichever worker gave it; one number is
    // one CRL (one signer); a higher number lists everything a lower one did.
    const byNumber = new Map<number, Buffer>();
    for (let i = 0; i < seen.length; i++) {
      const c = seen[i];
      expect(Number.isInteger(c.number)).toBe(true);
      if (i > 0) expect(c.number).toBeGreaterThanOrEqual(seen[i - 1].number);
      const same = byNumber.get(c.number);
      if (same) expect(same.equals(c.der)).toBe(true);
      else byNumber.set(c.number, c.der);
      if (i > 0) for (const s of seen[i - 1].serials) expect(c.serials.has(s)).toBe(true);
    }
    // Several CRLs were signed during the storm.
    expect(byNumber.size).toBeGreaterThan(1);
  }, 180_000);

  it("issues from both workers at once and keeps every answered certificate and its audit event", async () => {
    const devices = await Promise.all(Array.from({ length: 24 }, (_, i) => api("POST", "/api/v1/devices", { name: `burst-${i}` })));
    expect(devices.map((d) => d.status)).toEqual(Array(24).fill(201));
    // Two group commits (one per worker) on one database: SQLite's write lock between them.
    const issued = await Promise.all(devices.map((d) => api("POST", `/api/v1/devices/${d.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" } })));
    expect(issued.map((r) => r.status)).toEqual(Array(24).fill(201));
    // Read back from the database itself, as the server left it.
    await disconnectDb();
    process.env.DATABASE_URL = server.database.url;
    process.env.CERTFLEET_DATA_DIR = server.database.dataDir;
    resetConfigForTests();
    resetSecretsForTests();
    const ids = issued.map((r) => r.data.certificate.id as string);
    expect(await db().certificate.count({ where: { id: { in: ids } } })).toBe(24);
    expect(await db().auditEvent.count({ where: { action: "certificate.issue", targetId: { in: devices.map((d) => d.data.id as string) } } })).toBe(24);
    expect(await verifyAuditChain(SYSTEM_ACTOR)).toMatchObject({ ok: true });
  }, 120_000);

  it("replaces a killed worker and keeps serving meanwhile", async () => {
    const [victim] = workerPids(server.logs());
    process.kill(victim, "SIGKILL");
    // Once the primary knows (a connection handed over in the very instant of the crash is lost
    // with the worker), the other worker takes every new connection.
    for (let i = 0; i < 100 && !server.logs().includes(`worker ${victim} died`); i++) await sleep(50);
    for (let i = 0; i < 6; i++) expect((await fresh(server.url, "/pki/ca/root.pem")).status).toBe(200);
    for (let i = 0; i < 300 && workerPids(server.logs()).length < WORKERS; i++) await sleep(200);
    const pids = workerPids(server.logs());
    expect(pids).toHaveLength(WORKERS);
    expect(pids).not.toContain(victim);
    expect(server.logs()).toMatch(new RegExp(`worker ${victim} died \\(SIGKILL\\)`));
    expect(await ocspStatuses("victim", 6)).toEqual(Array(6).fill("revoked"));
  }, 120_000);

  it("throttles sign-in once for the server, whichever worker takes each attempt", async () => {
    // As a browser signs in (next-auth: CSRF cookie and token, then the credentials callback),
    // each on a fresh connection. The eight attempts go at once, so the primary hands them to
    // both workers: per-worker counts would let all eight through.
    const forms = [];
    for (let i = 0; i < 8; i++) {
      const csrf = await fresh(server.url, "/api/auth/csrf");
      const cookie = (csrf.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");
      forms.push({ cookie, body: new URLSearchParams({ csrfToken: JSON.parse(csrf.body.toString()).csrfToken, email: "nobody@test.local", password: `guess-${i}`, json: "true" }).toString() });
    }
    const results = await Promise.all(
      forms.map(async (f) => {
        const res = await fresh(server.url, "/api/auth/callback/credentials", { method: "POST", headers: { cookie: f.cookie, "content-type": "application/x-www-form-urlencoded" }, body: f.body });
        const location = String(res.headers.location ?? "") || (JSON.parse(res.body.toString() || "{}").url as string | undefined) || server.url;
        return new URL(location, server.url).searchParams.get("error");
      }),
    );
    // Five attempts per (email, address) for the whole server (lib/auth/rate-limit.ts PAIR_POLICY).
    expect(results.sort()).toEqual([...Array(5).fill("CredentialsSignin"), ...Array(3).fill("RateLimited")]);
  }, 120_000);

  it("lets a request in flight finish on SIGTERM, then exits", async () => {
    work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "victim.pem", "-no_nonce", "-reqout", "drain.req"]);
    const body = work.read("drain.req");
    // The request's headers and half its body are in a worker when SIGTERM comes.
    const socket = net.connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(`POST /pki/ocsp/issuing-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.subarray(0, 10));
    await sleep(500);
    process.kill(server.pid, "SIGTERM");
    await sleep(1_000);
    socket.write(body.subarray(10));
    await closed;
    const response = Buffer.concat(chunks);
    const head = response.subarray(0, response.indexOf("\r\n\r\n")).toString();
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    work.file("drain.resp", response.subarray(response.indexOf("\r\n\r\n") + 4));
    expect(work.ok(["ocsp", "-respin", "drain.resp", "-issuer", "issuing.pem", "-cert", "victim.pem", "-CAfile", "root.pem"])).toContain("victim.pem: revoked");
    expect(await server.exited).toBe(0);
  }, 120_000);
});
