// The real server (production build, tsx server.ts) over HTTP: login, CLI tokens, roles on a
// route and on a server action, and bad input that must store nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { testProviders } from "../helpers/databases";
import { startServer, type TestServer } from "../helpers/server";
import { api, Browser } from "../helpers/http";

function cli(server: TestServer, args: string[], input?: string): string {
  return execFileSync(process.execPath, ["cli/bin.mjs", ...args], { env: { ...process.env, ...server.env }, input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] }).trim();
}

function actionId(exportName: string): string {
  const manifest = JSON.parse(readFileSync(".next/server/server-reference-manifest.json", "utf8"));
  const entry = Object.entries(manifest.node as Record<string, { exportedName: string }>).find(([, v]) => v.exportedName === exportName);
  if (!entry) throw new Error(`server action ${exportName} not in the build`);
  return entry[0];
}

/** Calls a server action the way a forged client would: just the action id and arguments. */
async function callAction(browser: Browser, page: string, name: string, args: unknown[]) {
  const res = await browser.fetch(page, {
    method: "POST",
    headers: { "next-action": actionId(name), accept: "text/x-component", "content-type": "text/plain;charset=UTF-8" },
    body: JSON.stringify(args),
  });
  return { status: res.status, text: await res.text() };
}

describe.each(testProviders())("HTTP foundation on %s", (provider) => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let deviceCount: () => Promise<number>;

  beforeAll(async () => {
    server = await startServer(provider);
    for (const role of ["admin", "operator", "viewer", "broker"]) tokens[role] = cli(server, ["token", "create", "--name", `t-${role}`, "--role", role]);
    deviceCount = async () => {
      const res = await api(server.url, tokens.admin, "GET", "/api/v1/devices?limit=500");
      return res.data.items.length;
    };
  });
  afterAll(async () => server?.stop());

  it("serves the login page and redirects signed-out browsers to it", async () => {
    const root = await fetch(server.url + "/", { redirect: "manual" });
    expect(root.status).toBe(307);
    expect(root.headers.get("location")).toContain("/login");
    const login = await fetch(server.url + "/login");
    expect(login.status).toBe(200);
    expect(await login.text()).toContain("Sign in");
  });

  it("signs the first admin in, and gives the same error for a wrong password and an unknown user", async () => {
    const browser = new Browser(server.url);
    expect(await browser.signIn("admin@test.local", "admin-password-1")).toBeNull();
    const page = await browser.fetch("/");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("admin@test.local");

    expect(await new Browser(server.url).signIn("admin@test.local", "wrong-password")).toBe("CredentialsSignin");
    expect(await new Browser(server.url).signIn("ghost@test.local", "admin-password-1")).toBe("CredentialsSignin");
  });

  it("throttles repeated sign-in attempts for one email from one address, whatever X-Forwarded-For claims", async () => {
    const results: (string | null)[] = [];
    // No trusted proxy: the socket's address counts, so new forged headers per try change nothing
    // (neither X-Forwarded-For nor the header the custom server hands the address to Next in).
    const forged = (i: number) => ({ "x-forwarded-for": `192.0.2.${i}`, "x-certfleet-client-ip": `198.51.100.${i}` });
    for (let i = 0; i < 7; i++) results.push(await new Browser(server.url, forged(i)).signIn("victim@test.local", `guess-${i}`));
    expect(results.slice(0, 5).every((r) => r === "CredentialsSignin")).toBe(true);
    expect(results.slice(5)).toEqual(["RateLimited", "RateLimited"]);
  });

  it("lets each role do exactly its part on a REST route", async () => {
    expect((await api(server.url, null, "GET", "/api/v1/devices")).status).toBe(401);
    expect((await api(server.url, "cf_not-a-real-token", "GET", "/api/v1/devices")).status).toBe(401);
    expect((await api(server.url, tokens.viewer, "GET", "/api/v1/devices")).status).toBe(200);
    const denied = await api(server.url, tokens.viewer, "POST", "/api/v1/devices", { name: "viewer-made" });
    expect(denied.status).toBe(403);
    expect(denied.type).toContain("application/problem+json");
    expect(denied.data).toMatchObject({ status: 403, title: "Forbidden" });
    expect((await api(server.url, tokens.broker, "GET", "/api/v1/devices")).status).toBe(403);
    const created = await api(server.url, tokens.operator, "POST", "/api/v1/devices", { name: "op-made", tags: ["Lab"] });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ name: "op-made", tags: ["lab"], status: "active" });
    const names = (await api(server.url, tokens.viewer, "GET", "/api/v1/devices")).data.items.map((d: any) => d.name);
    expect(names).toContain("op-made");
    expect(names).not.toContain("viewer-made");
  });

  it("refuses revoked tokens at once", async () => {
    const token = cli(server, ["token", "create", "--name", "short-lived", "--role", "viewer"]);
    expect((await api(server.url, token, "GET", "/api/v1/devices")).status).toBe(200);
    cli(server, ["token", "revoke", "--name", "short-lived"]);
    expect((await api(server.url, token, "GET", "/api/v1/devices")).status).toBe(401);
  });

  it("lets a server action refuse a viewer even when the call is forged", async () => {
    cli(server, ["user", "create", "--email", "viewer@test.local", "--role", "viewer"], "viewer-password-1\n");
    cli(server, ["user", "create", "--email", "op@test.local", "--role", "operator"], "operator-password-1\n");
    const viewer = new Browser(server.url);
    expect(await viewer.signIn("viewer@test.local", "viewer-password-1")).toBeNull();
    const before = await deviceCount();
    const forged = await callAction(viewer, "/devices", "createDeviceFormAction", [null, { name: "forged-by-viewer" }]);
    expect(forged.text).toContain("FORBIDDEN");
    expect(await deviceCount()).toBe(before);

    const operator = new Browser(server.url);
    expect(await operator.signIn("op@test.local", "operator-password-1")).toBeNull();
    const allowed = await callAction(operator, "/devices", "createDeviceFormAction", [null, { name: "made-by-action" }]);
    expect(allowed.text).toContain('"ok":true');
    expect(await deviceCount()).toBe(before + 1);

    const anonymous = await callAction(new Browser(server.url), "/devices", "createDeviceFormAction", [null, { name: "anon" }]);
    expect(anonymous.text).not.toContain('"ok":true');
    expect(await deviceCount()).toBe(before + 1);
  });

  it("answers bad input with problem+json and stores nothing", async () => {
    const before = await deviceCount();
    const malformed = await api(server.url, tokens.operator, "POST", "/api/v1/devices", "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.type).toContain("application/problem+json");
    expect(malformed.data.detail).toMatch(/not valid JSON/);

    const missing = await api(server.url, tokens.operator, "POST", "/api/v1/devices", { tags: ["x"] });
    expect(missing.status).toBe(400);
    expect(missing.data.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: "body.name" })]));

    const badName = await api(server.url, tokens.operator, "POST", "/api/v1/devices", { name: "has spaces/and:colons" });
    expect(badName.status).toBe(400);

    const huge = await api(server.url, tokens.operator, "POST", "/api/v1/devices", { name: "huge", metadata: { blob: "x".repeat(1024 * 1024 + 10) } });
    expect(huge.status).toBe(413);
    expect(huge.type).toContain("application/problem+json");

    const unknown = await api(server.url, tokens.operator, "GET", "/api/v1/devices/does-not-exist");
    expect(unknown.status).toBe(404);
    expect(JSON.stringify([malformed.data, missing.data, huge.data, unknown.data])).not.toMatch(/at \w+ \(|prisma|SELECT|node_modules/i);
    expect(await deviceCount()).toBe(before);
  });
});
