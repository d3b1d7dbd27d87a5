// E2E harness: the production server with the demo fleet on free ports and its own data directory,
// Debian's Chromium driven by playwright-core, a tiny test registry, and screenshots.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { createTestDatabase } from "../helpers/databases";
import { launchServer } from "../helpers/server";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const RESULTS = path.join(ROOT, "test-results", "e2e");
export const CHROMIUM = "/usr/bin/chromium";
export const ADMIN = { email: "admin@e2e.local", password: "admin-password-e2e-1" };

/** Debian's Chromium: installed on demand (never `npx playwright install`: no downloads). */
export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  console.log("[e2e] /usr/bin/chromium missing: apt-get install -y chromium");
  const r = spawnSync("apt-get", ["install", "-y", "chromium"], { stdio: "inherit" });
  if (r.status !== 0 || !existsSync(CHROMIUM)) throw new Error("Chromium is not installed and apt-get could not install it");
}

export interface Server {
  url: string;
  dataDir: string;
  databaseUrl: string;
  logs(): string;
  stop(): Promise<void>;
}

export async function startServer(): Promise<Server> {
  if (!existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
    console.log("[e2e] no production build: running next build");
    const r = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
    if (r.status !== 0) throw new Error("next build failed");
  }
  const database = await createTestDatabase("sqlite");
  const server = await launchServer(database, { CERTFLEET_ADMIN_EMAIL: ADMIN.email, CERTFLEET_ADMIN_PASSWORD: ADMIN.password }, ["--demo"]);
  return { url: server.url, dataDir: database.dataDir, databaseUrl: database.url, logs: server.logs, stop: server.stop };
}

/** playwright-core gives every launch a fresh temporary profile (it refuses --user-data-dir here). */
export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  return { browser, close: () => browser.close() };
}

/** Content-Security-Policy (and Permissions-Policy) complaints seen in any page: the run fails on any. */
const policyViolations: string[] = [];

export async function newContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const ctx = await browser.newContext({ baseURL, viewport: { width: 1440, height: 960 }, acceptDownloads: true });
  ctx.setDefaultTimeout(15_000);
  // Chromium's own console line for a blocked resource is not always passed on; the DOM event is.
  await ctx.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${e.documentURI}`));
  });
  ctx.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy|CSP violation|Permissions-Policy/i.test(msg.text())) policyViolations.push(msg.text());
  });
  return ctx;
}

export async function signIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  await page.getByTestId("who").waitFor();
}

/**
 * Every state worth a screenshot is also checked with axe-core against WCAG 2.0/2.1 A and AA (and
 * the run fails on any violation), so each page, signed-in role and open dialog the suite visits
 * is held to it.
 */
export async function screenshot(page: Page, name: string) {
  mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await checkAccessibility(page, name);
  return file;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const WCAG_2_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const a11yViolations: string[] = [];
export const a11yChecked: string[] = [];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Runs axe-core in the page (evaluated through the DevTools protocol, so the page's CSP does not apply). */
export async function checkAccessibility(page: Page, name: string): Promise<void> {
  await page.evaluate(`if (!window.axe) { ${AXE_SOURCE} }`);
  const violations = (await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ${JSON.stringify(WCAG_2_AA)} }, resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) })))`,
  )) as AxeViolation[];
  a11yChecked.push(name);
  for (const v of violations) {
    const where = v.nodes.slice(0, 3).map((n) => `${JSON.stringify(n.target)}${n.failureSummary ? ` — ${n.failureSummary.split("\n").slice(1, 2).join(" ").trim()}` : ""}`).join("; ");
    a11yViolations.push(`${name} (${page.url().replace(/^https?:\/\/[^/]+/, "")}): ${v.id} [${v.impact}] ${v.help} — ${v.nodes.length} element(s): ${where}`);
  }
}

// ---- a minimal test registry: sequential, named, timed; failures do not stop the run ---------

type TestFn = () => Promise<void>;
const tests: { name: string; fn: TestFn }[] = [];

export function test(name: string, fn: TestFn) {
  tests.push({ name, fn });
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEqual<T>(actual: T, expected: T, what: string) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

export async function runTests(): Promise<{ passed: number; failed: number }> {
  let passed = 0;
  let failed = 0;
  for (const t of tests) {
    const started = Date.now();
    try {
      await t.fn();
      passed++;
      console.log(`  ✓ ${t.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      console.log(`  ✗ ${t.name} (${Date.now() - started} ms)\n      ${(e instanceof Error ? (e.stack ?? e.message) : String(e)).split("\n").slice(0, 6).join("\n      ")}`);
    }
  }
  if (a11yViolations.length) {
    failed++;
    console.log(`  ✗ no WCAG 2 A/AA violation (axe-core) in ${a11yChecked.length} checked states\n      ${a11yViolations.slice(0, 40).join("\n      ")}`);
  } else {
    passed++;
    console.log(`  ✓ no WCAG 2 A/AA violation (axe-core) in ${a11yChecked.length} checked states: ${a11yChecked.join(", ")}`);
  }
  if (policyViolations.length) {
    failed++;
    console.log(`  ✗ no Content-Security-Policy violations in the browser console\n      ${[...new Set(policyViolations)].slice(0, 6).join("\n      ")}`);
  } else {
    passed++;
    console.log("  ✓ no Content-Security-Policy violations in the browser console");
  }
  return { passed, failed };
}

/** The axe-core violations collected so far, emptied (for a vitest test that checks states itself). */
export function takeA11yViolations(): string[] {
  return a11yViolations.splice(0);
}
