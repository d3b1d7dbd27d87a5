// EMQX contract, by its docs (no EMQX on these machines): real local HTTP servers on both sides.
// 1. CertFleet's auth backend answers EMQX 5's HTTP authentication / authorization requests in the
//    shapes EMQX sends with the templates README recommends (POST JSON; GET query also read) with
//    {"result": "allow" | "deny"} (+ "is_superuser" for authn), content-type application/json.
// 2. Live-session revocation kicks through EMQX's REST API: GET /api/v5/clients?username=…, then
//    DELETE /api/v5/clients/{clientid}, HTTP Basic with the API key and secret — recorded by a
//    stand-in EMQX and compared with that shape. Failures land in the broker's health, secret-free.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startInstance, type TestInstance } from "../helpers/instance";
import { testProviders } from "../helpers/databases";
import { SYSTEM_ACTOR } from "@/lib/auth/roles";
import { createDevice, updateDevice } from "@/lib/services/devices";
import { createOrRotatePsk, revokeDevicePsk } from "@/lib/services/psk";
import { createBroker, getBroker, listBrokers } from "@/lib/services/brokers";
import { startBrokerSessions } from "@/lib/services/broker-sessions";
import { setTopicPolicy } from "@/lib/services/topic-policies";
import { brokerAuthHandler } from "@/lib/http/broker-auth";

interface Recorded {
  method: string;
  url: string;
  authorization?: string;
}

const API_KEY = "certfleet-kicker";
const API_SECRET = "emqx-api-secret-0123456789";

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; base: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(testProviders())("EMQX: HTTP authn/authz answered by CertFleet, kicks through its REST API (%s)", (provider) => {
  let inst: TestInstance;
  let backend: { server: http.Server; base: string };
  let emqx: { server: http.Server; base: string };
  let stopSessions: () => void;
  const recorded: Recorded[] = [];
  let emqxFails = false;
  let authUrl: string;
  const devices: Record<string, string> = {};

  beforeAll(async () => {
    inst = await startInstance(provider);
    backend = await listen((req, res) => void brokerAuthHandler(req, res, new URL(req.url ?? "/", "http://backend")));
    // Stand-in EMQX 5 REST API: two sessions for device "meter-1" (one client id needs escaping).
    emqx = await listen((req, res) => {
      recorded.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
      if (emqxFails) return void res.writeHead(503).end();
      const url = new URL(req.url ?? "/", "http://emqx");
      if (req.method === "GET" && url.pathname === "/api/v5/clients") {
        const username = url.searchParams.get("username");
        const data =
          username === "meter-1" ? [{ clientid: "meter-1-a", username }, { clientid: "meter 1/b", username }] : username === "meter-2" ? [{ clientid: "meter-2-a", username }] : [];
        return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data, meta: { page: 1, limit: 1000, count: data.length } }));
      }
      if (req.method === "DELETE" && url.pathname.startsWith("/api/v5/clients/")) return void res.writeHead(204).end();
      res.writeHead(404).end();
    });
    const broker = await createBroker(SYSTEM_ACTOR, { name: "emqx-1", kind: "emqx", adminUrl: emqx.base, adminUsername: API_KEY, adminPassword: API_SECRET });
    authUrl = broker.authUrl.replace(/^https?:\/\/[^/]+/, backend.base);
    for (const name of ["meter-1", "meter-2"]) {
      const device = await createDevice(SYSTEM_ACTOR, { name });
      devices[name] = device.id;
      await createOrRotatePsk(SYSTEM_ACTOR, device.id, {});
    }
    stopSessions = startBrokerSessions({ log: () => undefined, tickMs: 500 });
  });

  afterAll(async () => {
    stopSessions?.();
    await new Promise((r) => backend?.server.close(r));
    await new Promise((r) => emqx?.server.close(r));
    await inst?.close();
  });

  const post = async (path: string, body: Record<string, string>) => {
    const res = await fetch(`${authUrl}/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.headers.get("content-type")).toBe("application/json");
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("answers authentication: a live device is allowed (not superuser), a foreign name, a password or an unknown device is denied", async () => {
    // authentication { mechanism = password_based, backend = http, method = post, url = ".../emqx/authn",
    //   body { username = "${username}", password = "${password}", clientid = "${clientid}", cert_common_name = "${cert_common_name}" } }
    expect(await post("emqx/authn", { username: "meter-1", password: "", clientid: "meter-1-a", cert_common_name: "meter-1" })).toEqual({ status: 200, body: { result: "allow", is_superuser: false } });
    expect((await post("emqx/authn", { username: "meter-2", password: "", clientid: "x", cert_common_name: "meter-1" })).body).toEqual({ result: "deny" });
    expect((await post("emqx/authn", { username: "meter-1", password: "guess", clientid: "x", cert_common_name: "" })).body).toEqual({ result: "deny" });
    expect((await post("emqx/authn", { username: "nobody", password: "", clientid: "x", cert_common_name: "" })).body).toEqual({ result: "deny" });
    // method = get: the same fields as query parameters.
    const res = await fetch(`${authUrl}/emqx/authn?${new URLSearchParams({ username: "meter-2", password: "", clientid: "m2" })}`);
    expect(await res.json()).toEqual({ result: "allow", is_superuser: false });
  });

  it("answers authorization by the device's topic policy: own topics allowed, others denied", async () => {
    // authorization.sources = [{ type = http, method = post, url = ".../emqx/authz",
    //   body { username = "${username}", topic = "${topic}", action = "${action}", clientid = "${clientid}" } }]
    const authz = async (username: string, topic: string, action: string) => (await post("emqx/authz", { username, topic, action, clientid: "c" })).body.result;
    expect(await authz("meter-1", "devices/meter-1/power", "publish")).toBe("allow");
    expect(await authz("meter-1", "devices/meter-1/#", "subscribe")).toBe("allow");
    expect(await authz("meter-1", "devices/meter-2/power", "publish")).toBe("deny");
    expect(await authz("meter-1", "devices/+/power", "subscribe")).toBe("deny");
    expect(await authz("meter-1", "devices/meter-1/x", "retain")).toBe("deny");
    // A tag policy applies to tagged devices without their own.
    await updateDevice(SYSTEM_ACTOR, devices["meter-2"], { tags: ["meters"] });
    await setTopicPolicy(SYSTEM_ACTOR, "tag", "meters", { publish: ["meters/{name}/+"], subscribe: ["meters/broadcast"] });
    expect(await authz("meter-2", "meters/meter-2/power", "publish")).toBe("allow");
    expect(await authz("meter-2", "devices/meter-2/power", "publish")).toBe("deny");
    expect(await authz("meter-2", "meters/broadcast", "subscribe")).toBe("allow");
  });

  it("kicks a device's EMQX sessions when it loses its last credential, in the documented request shape", async () => {
    recorded.length = 0;
    await revokeDevicePsk(SYSTEM_ACTOR, devices["meter-1"]);
    expect(await eventually(() => recorded.filter((r) => r.method === "DELETE").length === 2)).toBe(true);
    const basic = `Basic ${Buffer.from(`${API_KEY}:${API_SECRET}`).toString("base64")}`;
    expect(recorded).toEqual([
      { method: "GET", url: "/api/v5/clients?username=meter-1&_limit=1000", authorization: basic },
      { method: "DELETE", url: "/api/v5/clients/meter-1-a", authorization: basic },
      { method: "DELETE", url: "/api/v5/clients/meter%201%2Fb", authorization: basic },
    ]);
    expect(await eventually(async () => (await getBroker(SYSTEM_ACTOR, (await listBrokers(SYSTEM_ACTOR))[0].id)).kickCount === 2)).toBe(true);
    expect((await post("emqx/authn", { username: "meter-1", password: "", clientid: "meter-1-a", cert_common_name: "meter-1" })).body).toEqual({ result: "deny" });
    // A device that keeps access is not kicked (only the auth cache is refreshed).
    recorded.length = 0;
    await updateDevice(SYSTEM_ACTOR, devices["meter-2"], { tags: ["meters", "floor-2"] });
    await new Promise((r) => setTimeout(r, 300));
    expect(recorded).toEqual([]);
  });

  it("records a failed kick in the broker's health without its secret, and retries", async () => {
    emqxFails = true;
    recorded.length = 0;
    await updateDevice(SYSTEM_ACTOR, devices["meter-2"], { status: "disabled" });
    const id = (await listBrokers(SYSTEM_ACTOR))[0].id;
    expect(await eventually(async () => (await getBroker(SYSTEM_ACTOR, id)).lastKickError !== null, 15_000)).toBe(true);
    const health = await getBroker(SYSTEM_ACTOR, id);
    expect(health.lastKickError).toMatch(/HTTP 503/);
    expect(JSON.stringify(health)).not.toContain(API_SECRET);
    expect(recorded.length).toBeGreaterThanOrEqual(3); // first try and two retries
    // Once the broker answers again, the next tick closes what is left.
    emqxFails = false;
    expect(await eventually(async () => {
      const h = await getBroker(SYSTEM_ACTOR, id);
      return h.lastKickAt !== null && h.lastKickAt > h.lastKickErrorAt!;
    }, 15_000)).toBe(true);
    expect(recorded.some((r) => r.method === "GET" && r.url.startsWith("/api/v5/clients?username=meter-2"))).toBe(true);
  }, 40_000);
});
