// GET /metrics on the real server, scraped by a real Prometheus (Debian `prometheus`) with a bearer
// token: the expiry gauge for a seeded fleet arrives in Prometheus with the right value. Also:
// who may read /metrics, the token-less CERTFLEET_METRICS_ADDR listener, counters that the one
// writer / revoker / OCSP service move, and `promtool check` of the shipped docs/prometheus files.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabase } from "../helpers/databases";
import { freePort, launchServer, type TestServer } from "../helpers/server";
import { api } from "../helpers/http";
import { disconnectDb } from "@/lib/db";
import { resetConfigForTests } from "@/lib/config";
import { resetSecretsForTests } from "@/lib/secrets";
import { SYSTEM_ACTOR } from "@/lib/auth/roles";
import { createApiToken } from "@/lib/services/tokens";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The value of one sample line in exposition text (labels in any order are matched as given). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return null;
}

const DOCS = path.resolve("docs/prometheus");

describe("Prometheus files shipped in docs/prometheus", () => {
  it("promtool accepts the alerting rules and the scrape configuration", () => {
    const ruleFiles = readdirSync(DOCS).filter((f) => f.endsWith(".yml") && f !== "prometheus.yml").map((f) => path.join(DOCS, f));
    expect(ruleFiles.length).toBeGreaterThan(0);
    const rules = spawnSync("promtool", ["check", "rules", ...ruleFiles], { encoding: "utf8" });
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
    expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/);
    // The config names its token and CA files relative to itself: check a copy with stand-ins beside it.
    const dir = mkdtempSync(path.join(tmpdir(), "certfleet-promcheck-"));
    try {
      for (const f of readdirSync(DOCS)) copyFileSync(path.join(DOCS, f), path.join(dir, f));
      writeFileSync(path.join(dir, "certfleet.token"), "cf_placeholder\n");
      writeFileSync(path.join(dir, "certfleet-root.pem"), "");
      const cfg = spawnSync("promtool", ["check", "config", path.join(dir, "prometheus.yml")], { encoding: "utf8" });
      expect(cfg.status, cfg.stdout + cfg.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("GET /metrics on the real server, scraped by Prometheus", () => {
  let server: TestServer;
  let metricsAddrPort: number;
  const tokens: Record<string, string> = {};
  let promDir: string;
  let prometheus: ChildProcess | null = null;
  let promLogs = "";
  const issued: string[] = [];

  beforeAll(async () => {
    metricsAddrPort = await freePort();
    const database = await createTestDatabase("sqlite");
    // 20-day certificates: inside the 30- and 90-day windows, outside the 1- and 7-day ones.
    server = await launchServer(database, { CERTFLEET_DEVICE_CERT_DAYS: "20", CERTFLEET_METRICS_ADDR: `127.0.0.1:${metricsAddrPort}`, CERTFLEET_ALERT_INTERVAL_SECONDS: "3600", CERTFLEET_METRICS_TAGS: "fleet-a,unused" });
    // Tokens are made in this process against the server's database (as the CLI would).
    await disconnectDb();
    process.env.DATABASE_URL = database.url;
    process.env.CERTFLEET_DATA_DIR = database.dataDir;
    resetConfigForTests();
    resetSecretsForTests();
    for (const role of ["admin", "operator", "viewer", "broker", "metrics"] as const) tokens[role] = (await createApiToken(SYSTEM_ACTOR, { name: `t-${role}`, role })).token;
    await disconnectDb();
    for (let i = 0; i < 3; i++) {
      const device = await api(server.url, tokens.operator, "POST", "/api/v1/devices", { name: `metric-dev-${i}`, tags: ["fleet-a"] });
      expect(device.status).toBe(201);
      const cert = await api(server.url, tokens.operator, "POST", `/api/v1/devices/${device.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
      expect(cert.status, JSON.stringify(cert.data)).toBe(201);
      issued.push(cert.data.certificate.id);
    }
  }, 240_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once("exit", r));
      prometheus.kill("SIGTERM");
      await Promise.race([exited, sleep(5000)]);
      if (prometheus.exitCode === null) prometheus.kill("SIGKILL");
    }
    if (promDir) rmSync(promDir, { recursive: true, force: true });
    await server?.stop();
  });

  it("answers metrics, broker and admin tokens; refuses others and no token, writing nothing", async () => {
    const none = await api(server.url, null, "GET", "/metrics");
    expect(none.status).toBe(401);
    expect(none.type).toContain("application/problem+json");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await api(server.url, "cf_not-a-real-token", "GET", "/metrics")).status).toBe(401);
    for (const role of ["viewer", "operator"]) {
      const refused = await api(server.url, tokens[role], "GET", "/metrics");
      expect(refused.status, role).toBe(403);
      expect(refused.data.detail).toContain("metrics:read");
    }
    expect((await api(server.url, tokens.metrics, "POST", "/metrics", "")).status).toBe(405);
    for (const role of ["metrics", "broker", "admin"]) {
      const res = await api(server.url, tokens[role], "GET", "/metrics");
      expect(res.status, role).toBe(200);
      expect(res.type).toContain("text/plain");
    }
  });

  it("counts issuance, revocation and OCSP and reads the fleet gauges from the database", async () => {
    const revoked = await api(server.url, tokens.operator, "POST", `/api/v1/certificates/${issued[2]}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    // An OCSP GET with a malformed request: answered in the protocol, counted by status.
    const ocsp = await fetch(`${server.url}/pki/ocsp/issuing-1/AAAA`);
    expect(ocsp.status).toBe(200);
    const text = (await api(server.url, tokens.metrics, "GET", "/metrics")).data as string;
    expect(sample(text, "certfleet_certificates_issued_total", { outcome: "success" })).toBeGreaterThanOrEqual(3);
    expect(sample(text, "certfleet_certificates_revoked_total", { reason: "keyCompromise" })).toBe(1);
    expect(sample(text, "certfleet_ocsp_responses_total", { status: "malformedRequest" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "certfleet_ocsp_cache_total", { result: "miss" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "certfleet_broker_http_request_duration_seconds_count", { endpoint: "ocsp", method: "GET", code: "200" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "certfleet_devices_expiring", { ca: "issuing-1", window_days: "30" })).toBe(2);
    expect(sample(text, "certfleet_devices_expiring", { ca: "issuing-1", window_days: "7" })).toBe(0);
    expect(sample(text, "certfleet_ca_certificate_not_after_timestamp_seconds", { ca: "root", kind: "root" })).toBeGreaterThan(Date.now() / 1000);
    expect(sample(text, "certfleet_crl_number", { ca: "issuing-1" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "certfleet_ocsp_responder_not_after_timestamp_seconds", { ca: "issuing-1" })).toBeGreaterThan(Date.now() / 1000);
    expect(sample(text, "certfleet_broker_token_last_seen_timestamp_seconds", { token: "t-broker" })).toBeGreaterThan(0);
    expect(text).toMatch(/^certfleet_certificates\{ca="issuing-1",state="active"\} \d+$/m);
    // The tag series are recounted once a minute: 3 or 2 (before or after the revocation), never other.
    expect([2, 3]).toContain(sample(text, "certfleet_devices_expiring_by_tag", { tag: "fleet-a", window_days: "30" }));
    expect(sample(text, "certfleet_devices_expiring_by_tag", { tag: "fleet-a", window_days: "7" })).toBe(0);
    expect(sample(text, "certfleet_devices_expiring_by_tag", { tag: "unused", window_days: "90" })).toBe(0);
  });

  it("serves /metrics without a token on CERTFLEET_METRICS_ADDR, and nothing else there", async () => {
    const open = await fetch(`http://127.0.0.1:${metricsAddrPort}/metrics`);
    expect(open.status).toBe(200);
    expect(sample(await open.text(), "certfleet_devices_expiring", { ca: "issuing-1", window_days: "90" })).toBe(2);
    expect((await fetch(`http://127.0.0.1:${metricsAddrPort}/api/v1/devices`)).status).toBe(404);
  });

  it("a real Prometheus scrapes it with the bearer token and holds the expiry gauge's value", async () => {
    promDir = mkdtempSync(path.join(tmpdir(), "certfleet-prometheus-"));
    const promPort = await freePort();
    const config = [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: certfleet",
      "    metrics_path: /metrics",
      "    authorization:",
      "      type: Bearer",
      `      credentials: ${tokens.metrics}`,
      "    static_configs:",
      `      - targets: ["127.0.0.1:${server.port}"]`,
      "",
    ].join("\n");
    const configFile = path.join(promDir, "prometheus.yml");
    writeFileSync(configFile, config, { mode: 0o600 });
    const check = spawnSync("promtool", ["check", "config", configFile], { encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    prometheus = spawn("prometheus", [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(promDir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ["ignore", "pipe", "pipe"] });
    prometheus.stdout!.on("data", (d) => (promLogs += d));
    prometheus.stderr!.on("data", (d) => (promLogs += d));
    process.once("exit", () => prometheus?.kill("SIGKILL"));

    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.status === "success" ? body.data.result : [];
    };
    const target = await waitFor(
      `Prometheus to scrape the server\n${promLogs}`,
      async () => {
        const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`);
        const body = (await res.json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
        const t = body.data.activeTargets[0];
        return t?.health === "up" ? t : null;
      },
      90_000,
    );
    expect(target.lastError).toBe("");
    const expiring = await waitFor("the expiry gauge in Prometheus", async () => {
      const r = await query('certfleet_devices_expiring{ca="issuing-1",window_days="30"}');
      return r.length ? r : null;
    });
    expect(expiring).toHaveLength(1);
    expect(expiring[0].metric.job).toBe("certfleet");
    expect(Number(expiring[0].value[1])).toBe(2);
    expect(Number((await query('certfleet_devices_expiring{ca="issuing-1",window_days="7"}'))[0].value[1])).toBe(0);
    const up = await query('up{job="certfleet"}');
    expect(Number(up[0].value[1])).toBe(1);
  }, 180_000);
});
