// HTTP load with wrk (Debian `wrk`, a C load generator), used the same way against CertFleet and
// its OpenSSL peer. The load generator's share of the machine is fixed and reported: one wrk
// thread (-t1) by default, and the CPU it used (user + system, from GNU time) is in every result.
// Requests come from a Lua script: one fixed request, or a list that wrk rotates through (distinct
// OCSP nonces, one device after another), formatted once in init so rotating costs no more than a
// fixed request.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** Answers with a status of 400 or more (wrk's "status" errors). */
  non2xx: number;
  total: number;
  /** CPU the load generator itself used, in % of one core (user + system over the run). */
  loadCpuPercent: number;
}

export interface WrkRequest {
  method?: "GET" | "POST";
  /** Path (and query) on the target. */
  path: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

export const WRK_THREADS = 1;
export const WRK_CONNECTIONS = 32;

/** A Lua string literal holding exactly these bytes. */
function luaString(bytes: Buffer | string): string {
  const b = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  let out = '"';
  for (const c of b) out += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? String.fromCharCode(c) : `\\${c.toString().padStart(3, "0")}`;
  return out + '"';
}

function luaTable(headers: Record<string, string> = {}): string {
  return `{${Object.entries(headers).map(([k, v]) => `[${luaString(k)}] = ${luaString(v)}`).join(", ")}}`;
}

function script(requests: WrkRequest[]): string {
  const list = requests.map((r) => `  {${luaString(r.method ?? "GET")}, ${luaString(r.path)}, ${luaTable(r.headers)}, ${r.body === undefined ? "nil" : luaString(r.body)}},`).join("\n");
  return `
-- wrk checks the address with a connection it closes without a request. OpenSSL 3.0's
-- "openssl ocsp -multi" child that accepts such a connection never serves again (it spins), so
-- the check would take one of the peer's processes out for the whole run: resolve without it.
wrk.resolve = function(host, service)
  wrk.addrs = wrk.lookup(host, service)
end

local specs = {
${list}
}
local formatted = {}
local n = 0
local i = 0
init = function(args)
  for k, s in ipairs(specs) do formatted[k] = wrk.format(s[1], s[2], s[3], s[4]) end
  n = #formatted
end
request = function()
  i = i % n + 1
  return formatted[i]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nRESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%.0f,"p99_us":%.0f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
`;
}

/** Runs wrk against `base` with the requests (rotated), `-t threads -c connections -d seconds`. */
export async function wrk(opts: { base: string; requests: WrkRequest[]; seconds: number; connections?: number; threads?: number }): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "certfleet-wrk-"));
  const file = path.join(dir, "load.lua");
  writeFileSync(file, script(opts.requests));
  try {
    const args = ["-t", String(opts.threads ?? WRK_THREADS), "-c", String(opts.connections ?? WRK_CONNECTIONS), "-d", `${opts.seconds}s`, "--latency", "--timeout", "10s", "-s", file, opts.base];
    // GNU time reports wrk's own CPU (user + system seconds).
    const child = spawn("/usr/bin/time", ["-f", "WRKCPU %U %S", "wrk", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`wrk ${args.join(" ")} exited ${code}:\n${out}`);
    const t = /WRKCPU ([\d.]+) ([\d.]+)/.exec(out);
    const cpu = t ? Number(t[1]) + Number(t[2]) : NaN;
    const m = /RESULT (\{.*\})/.exec(out);
    if (!m) throw new Error(`wrk printed no result:\n${out}`);
    const r = JSON.parse(m[1]) as { requests: number; duration_us: number; connect: number; read: number; write: number; status: number; timeout: number; p50_us: number; p99_us: number };
    const seconds = r.duration_us / 1e6;
    return {
      rps: r.requests / seconds,
      p50: Math.round(r.p50_us / 10) / 100,
      p99: Math.round(r.p99_us / 10) / 100,
      errors: r.connect + r.read + r.write + r.timeout,
      non2xx: r.status,
      total: r.requests,
      loadCpuPercent: Math.round((cpu / seconds) * 100),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line of text for a result: rate, latencies, errors, and the load generator's CPU. */
export function describeLoad(r: LoadResult, unit = "req/s"): string {
  const errors = r.errors + r.non2xx;
  return `${Math.round(r.rps).toLocaleString("en-US")} ${unit}, p50 ${r.p50} ms, p99 ${r.p99} ms${errors ? `, ${errors} errors` : ""} (wrk ${r.loadCpuPercent}% CPU)`;
}
