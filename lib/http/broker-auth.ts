// CertFleet as an MQTT broker's HTTP auth backend, answered by the custom server before Next:
//   /broker-auth/{secret}/user|vhost|resource|topic   RabbitMQ rabbitmq_auth_backend_http
//                                                      (GET query parameters; POST form also read);
//                                                      text answers "allow [tags]" / "deny"
//   /broker-auth/{secret}/emqx/authn|emqx/authz       EMQX 5 HTTP authentication / authorization
//                                                      (GET query or POST JSON/form, by EMQX's docs);
//                                                      JSON answers {"result": "allow"|"deny"}
//   /broker-auth/{secret}/synced                      broker-sync reports a successful run (health)
// The secret identifies the broker (see lib/services/brokers.ts for why it sits in the path). An
// unknown secret gets 404. Nothing here logs a request path or a password.
import type { IncomingMessage, ServerResponse } from "node:http";
import { BROKER_AUTH_PREFIX, brokerForSecret, isAdminPassword, recordBrokerAuthCall, recordBrokerSync, type BrokerIdentity } from "../services/brokers";
import { deviceAccess } from "../services/mqtt-access";
import { topicAllowed } from "../broker/topics";
import type { BrokerHandler } from "./types";

export { BROKER_AUTH_PREFIX };

const MAX_BODY = 16 * 1024;
/** The exchange RabbitMQ's MQTT plugin publishes to (mqtt.exchange in the generated config). */
const MQTT_EXCHANGE = "amq.topic";
const MQTT_QUEUE_PREFIX = "mqtt-subscription-";
const VHOST = "/";

async function readParams(req: IncomingMessage, url: URL): Promise<Record<string, string> | null> {
  const params: Record<string, string> = Object.fromEntries(url.searchParams);
  if (req.method === "GET" || req.method === "HEAD") return params;
  if (req.method !== "POST") return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks).toString("utf8");
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  if (type.includes("json")) {
    try {
      const parsed = JSON.parse(body) as unknown;
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return null;
      for (const [k, v] of Object.entries(parsed)) if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") params[k] = String(v);
    } catch {
      return null;
    }
  } else {
    for (const [k, v] of new URLSearchParams(body)) params[k] = v;
  }
  return params;
}

function text(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end(body);
}

function json(res: ServerResponse, body: Record<string, unknown>) {
  res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
}

/** RabbitMQ: the answer to one of its four questions. */
async function answerRabbitmq(op: string, p: Record<string, string>, broker: BrokerIdentity): Promise<string> {
  const username = p.username ?? "";
  if (!username) return "deny";
  const isAdminName = broker.adminUsername !== null && username === broker.adminUsername;
  if (op === "user") {
    // Passwords are only for the management admin; devices log in by certificate (no password
    // parameter). A certificate named like the admin gets nothing.
    if (p.password !== undefined && p.password !== "") return isAdminName && isAdminPassword(broker, p.password) ? "allow administrator" : "deny";
    if (isAdminName) return "deny";
    return (await deviceAccess(username)).allowed ? "allow" : "deny";
  }
  // The admin only uses the management API: it may see the vhost, never publish or consume.
  if (isAdminName) return op === "vhost" && p.vhost === VHOST ? "allow" : "deny";
  if (p.vhost !== VHOST) return "deny";
  const access = await deviceAccess(username);
  if (!access.allowed) return "deny";
  if (op === "vhost") return "allow";
  if (op === "resource") {
    const name = p.name ?? "";
    if (p.resource === "exchange" && name === MQTT_EXCHANGE && (p.permission === "read" || p.permission === "write")) return "allow";
    if (p.resource === "queue" && name.startsWith(MQTT_QUEUE_PREFIX)) return "allow";
    return "deny";
  }
  // topic: the routing key is the MQTT topic with "/" turned into "." (lib/broker/topics.ts).
  if (p.resource !== "topic" || p.name !== MQTT_EXCHANGE || p.routing_key === undefined) return "deny";
  const filters = p.permission === "write" ? access.publish : p.permission === "read" ? access.subscribe : [];
  return topicAllowed(filters, username, p.routing_key, "amqp") ? "allow" : "deny";
}

/** EMQX: authentication (authn) and authorization (authz) by its HTTP request templates. */
async function answerEmqx(op: string, p: Record<string, string>): Promise<Record<string, unknown>> {
  const deny = { result: "deny" };
  const cn = p.cert_common_name || undefined;
  const username = p.username || undefined;
  // With a certificate the device is its CN: a client must not claim another device's name.
  if (cn && username && cn !== username) return deny;
  const name = cn ?? username;
  if (!name) return deny;
  if (op === "authn") {
    // CertFleet knows no MQTT passwords: a password is not one of its credentials.
    if (p.password) return deny;
    return (await deviceAccess(name)).allowed ? { result: "allow", is_superuser: false } : deny;
  }
  const access = await deviceAccess(name);
  if (!access.allowed || !p.topic) return deny;
  const action = p.action;
  const publish = action === "publish" || action === "all";
  const subscribe = action === "subscribe" || action === "all";
  if (!publish && !subscribe) return deny;
  const ok = (!publish || topicAllowed(access.publish, name, p.topic, "mqtt")) && (!subscribe || topicAllowed(access.subscribe, name, p.topic, "mqtt"));
  return ok ? { result: "allow" } : deny;
}

export const brokerAuthHandler: BrokerHandler = async (req, res, url) => {
  // /broker-auth/{secret}/{op...}
  const rest = url.pathname.slice(BROKER_AUTH_PREFIX.length);
  const slash = rest.indexOf("/");
  const secret = slash > 0 ? rest.slice(0, slash) : "";
  const op = slash > 0 ? rest.slice(slash + 1) : "";
  const broker = secret && /^[A-Za-z0-9_-]{20,100}$/.test(secret) ? await brokerForSecret(secret) : null;
  if (!broker) {
    text(res, 404, "not found\n");
    return;
  }
  const params = await readParams(req, url);
  if (!params) {
    text(res, 400, "bad request\n");
    return;
  }
  recordBrokerAuthCall(broker.id);
  switch (op) {
    case "user":
    case "vhost":
    case "resource":
    case "topic":
      text(res, 200, await answerRabbitmq(op, params, broker));
      return;
    case "emqx/authn":
    case "emqx/authz":
      json(res, await answerEmqx(op.slice(5), params));
      return;
    case "synced":
      await recordBrokerSync(broker.id);
      text(res, 200, "ok\n");
      return;
    default:
      text(res, 404, "not found\n");
  }
};
