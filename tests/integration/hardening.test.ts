// The real server over HTTP and HTTPS: modes of the files in a data directory that existed before
// the first start, security headers on pages, API routes and broker endpoints, and login
// throttling behind a trusted proxy (per email and address, per address, X-Forwarded-For).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, statSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { testProviders } from "../helpers/databases";
import { launchServer, startServer, type TestServer } from "../helpers/server";
import { api, Browser } from "../helpers/http";

function cli(server: TestServer, args: string[]): string {
  return execFileSync(process.execPath, ["cli/bin.mjs", ...args], { env: { ...process.env, ...server.env }, encoding: "utf8", stdio: "pipe" }).trim();
}

function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = (statSync(file).mode & 0o777).toString(8);
  }
  return out;
}

function httpsHeaders(url: string, ca: string): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      res.resume();
      resolve(res.headers);
    }).on("error", reject);
  });
}

describe.each(testProviders())("data directory and headers on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(provider);
  });
  afterAll(async () => server?.stop());

  it("keeps every file in a pre-existing data directory at 0600, also files an older version left 0644", async () => {
    const expected = provider === "sqlite" ? ["auth.secret", "certfleet.db", "certfleet.db-shm", "certfleet.db-wal", "master.key"] : ["auth.secret", "master.key"];
    const first = modes(server.database.dataDir);
    expect(Object.keys(first).sort()).toEqual(expected);
    expect(Object.values(first).every((m) => m === "600")).toBe(true);

    // What an older version left behind, then a start of this one (and a CLI run that writes).
    // A clean shutdown checkpoints SQLite and removes -wal/-shm; those that stayed get 0644, the
    // others come back with the next start and must be 0600 as well.
    await server.kill();
    for (const file of Object.keys(first)) if (existsSync(path.join(server.database.dataDir, file))) chmodSync(path.join(server.database.dataDir, file), 0o644);
    server = await launchServer(server.database);
    cli(server, ["token", "create", "--name", "mode-check", "--role", "viewer"]);
    const second = modes(server.database.dataDir);
    expect(Object.keys(second).sort()).toEqual(expected);
    expect(second).toEqual(Object.fromEntries(expected.map((f) => [f, "600"])));
  });

  it("sends the security headers on the login page, a dashboard page and an API route", async () => {
    const token = cli(server, ["token", "create", "--name", "headers", "--role", "viewer"]);
    const admin = new Browser(server.url);
    expect(await admin.signIn("admin@test.local", "admin-password-1")).toBeNull();
    const dashboard = await admin.fetch("/devices");
    expect(dashboard.status).toBe(200);
    const login = await fetch(server.url + "/login");
    const route = await api(server.url, token, "GET", "/api/v1/devices");
    expect(route.status).toBe(200);
    for (const headers of [dashboard.headers, login.headers, route.headers]) {
      const csp = headers.get("content-security-policy") ?? "";
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toContain("unsafe-eval");
      expect(headers.get("x-frame-options")).toBe("DENY");
      expect(headers.get("x-content-type-options")).toBe("nosniff");
      expect(headers.get("referrer-policy")).toBe("same-origin");
      expect(headers.get("permissions-policy")).toContain("camera=()");
      // Plain HTTP, no trusted proxy: a client's X-Forwarded-Proto does not earn HSTS.
      expect(headers.get("strict-transport-security")).toBeNull();
    }
    expect((await fetch(server.url + "/login", { headers: { "x-forwarded-proto": "https" } })).headers.get("strict-transport-security")).toBeNull();

    const ca = await (await fetch(`${server.url}/pki/ca/root.pem`)).text();
    const secure = await httpsHeaders(`${server.httpsUrl}/login`, ca);
    expect(secure["strict-transport-security"]).toBe("max-age=31536000");
    expect(secure["content-security-policy"]).toContain("frame-ancestors 'none'");
  });

  it("keeps broker endpoints protocol-shaped: nosniff only", async () => {
    const crl = await fetch(`${server.url}/pki/crl/issuing-1.crl`);
    expect(crl.status).toBe(200);
    expect(crl.headers.get("content-type")).toBe("application/pkix-crl");
    expect(crl.headers.get("x-content-type-options")).toBe("nosniff");
    expect(crl.headers.get("content-security-policy")).toBeNull();
    expect(crl.headers.get("x-frame-options")).toBeNull();
  });
});

describe("login throttling behind a trusted proxy", () => {
  let server: TestServer;
  // The test plays the proxy: it appends the address it "saw" to whatever the client sent.
  const via = (client: string, claimed?: string) => new Browser(server.url, { "x-forwarded-for": claimed ? `${claimed}, ${client}` : client });

  beforeAll(async () => {
    server = await startServer("sqlite", { CERTFLEET_TRUST_PROXY: "true" });
  });
  afterAll(async () => server?.stop());

  it("slows the attacker's address down without locking the owner out elsewhere", async () => {
    const attacker: (string | null)[] = [];
    for (let i = 0; i < 12; i++) attacker.push(await via("203.0.113.10").signIn("admin@test.local", `guess-${i}`));
    expect(attacker.slice(0, 5)).toEqual(Array(5).fill("CredentialsSignin"));
    expect(attacker.slice(5)).toEqual(Array(7).fill("RateLimited"));
    // Locked from there even with the right password: the lock does not reveal whether it was right.
    expect(await via("203.0.113.10").signIn("admin@test.local", "admin-password-1")).toBe("RateLimited");

    expect(await via("198.51.100.20").signIn("admin@test.local", "admin-password-1")).toBeNull();
  });

  it("resets the count for an email and address on success", async () => {
    const owner = "198.51.100.21";
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) expect(await via(owner).signIn("admin@test.local", `typo-${round}-${i}`)).toBe("CredentialsSignin");
      expect(await via(owner).signIn("admin@test.local", "admin-password-1")).toBeNull();
    }
  });

  it("limits one address across emails, and a forged left-most X-Forwarded-For does not get around it", async () => {
    const results: (string | null)[] = [];
    for (let i = 0; i < 32; i++) results.push(await via("203.0.113.66", `10.${i}.0.1`).signIn(`sprayed-${i}@test.local`, "Summer2024!"));
    expect(results.slice(0, 30)).toEqual(Array(30).fill("CredentialsSignin"));
    expect(results.slice(30)).toEqual(["RateLimited", "RateLimited"]);
    // The address the proxy saw is what counts: another client there is unaffected.
    expect(await via("198.51.100.22", "203.0.113.66").signIn("sprayed-0@test.local", "Summer2024!")).toBe("CredentialsSignin");
  });

  it("sends HSTS when the trusted proxy says the request came over HTTPS", async () => {
    const res = await fetch(server.url + "/login", { headers: { "x-forwarded-proto": "https" } });
    expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000");
    expect((await fetch(server.url + "/login")).headers.get("strict-transport-security")).toBeNull();
  });
});
