// A throwaway RabbitMQ node for integration tests: its own node name, HOME (Erlang cookie), data,
// log and config files, distribution port and listener ports, run as this user through the scripts
// in /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin (the /usr/sbin wrappers would switch to the
// system node's user and cookie). Never touches the system node.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { freePort, startServer, type TestServer } from "./server";
import { BROKER_HOST, MOSQUITTO_PUB_BIN, canConnect } from "./mosquitto";
import { api } from "./http";
import { Workdir } from "./openssl";
import { generateRabbitmqFiles, type RabbitCrlMode } from "../../lib/broker/config";

const LIB = "/usr/lib/rabbitmq/lib";

/** The sbin directory of the installed RabbitMQ, or null when it is not installed. */
export function rabbitmqSbin(): string | null {
  if (!existsSync(LIB)) return null;
  const server = readdirSync(LIB).filter((d) => d.startsWith("rabbitmq_server-")).sort().pop();
  return server ? path.join(LIB, server, "sbin") : null;
}

export interface RabbitmqFilesInput {
  rabbitmqConf: string;
  advancedConfig: string;
  enabledPlugins: string;
}

export interface RunningRabbitmq {
  node: string;
  dir: string;
  /** Everything the node printed, plus its log file. */
  logs(): string;
  /** Runs rabbitmqctl / rabbitmq-diagnostics against this node. */
  ctl(tool: "rabbitmqctl" | "rabbitmq-diagnostics", args: string[]): { status: number; output: string };
  stop(): Promise<void>;
}

/**
 * Writes the three files into `dir`, starts the node and waits until every `[host, port]` accepts
 * connections (a node needs ~10 s here; generous timeout for a busy 2-core machine).
 */
export async function startRabbitmq(files: RabbitmqFilesInput, dir: string, listeners: [string, number][], timeoutMs = 120_000): Promise<RunningRabbitmq> {
  const sbin = rabbitmqSbin();
  if (!sbin) throw new Error("RabbitMQ is not installed (apt-get install rabbitmq-server)");
  const node = `certfleet-${process.pid}-${randomBytes(3).toString("hex")}@localhost`;
  for (const sub of ["home", "mnesia", "log"]) mkdirSync(path.join(dir, sub), { recursive: true });
  writeFileSync(path.join(dir, "rabbitmq.conf"), files.rabbitmqConf);
  writeFileSync(path.join(dir, "advanced.config"), files.advancedConfig);
  writeFileSync(path.join(dir, "enabled_plugins"), files.enabledPlugins);
  writeFileSync(path.join(dir, "rabbitmq-env.conf"), "");
  const env = {
    ...process.env,
    HOME: path.join(dir, "home"),
    RABBITMQ_NODENAME: node,
    RABBITMQ_MNESIA_BASE: path.join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: path.join(dir, "log"),
    RABBITMQ_CONFIG_FILE: path.join(dir, "rabbitmq.conf"),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, "advanced.config"),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, "enabled_plugins"),
    RABBITMQ_DIST_PORT: String(await freePort()),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, "rabbitmq-env.conf"),
  };
  let output = "";
  // Its own process group: stop() can end the whole tree (beam, epmd child, heart) if ctl fails.
  const child: ChildProcess = spawn(path.join(sbin, "rabbitmq-server"), [], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => child.on("exit", (code) => ((exited = code), resolve())));
  const logFile = () => {
    try {
      return readFileSync(path.join(dir, "log", `${node}.log`), "utf8");
    } catch {
      return "";
    }
  };
  const ctl = (tool: "rabbitmqctl" | "rabbitmq-diagnostics", args: string[]) => {
    const r = spawnSync(path.join(sbin, tool), ["-n", node, ...args], { env, encoding: "utf8", timeout: 60_000 });
    return { status: r.status ?? -1, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exited === undefined) {
      ctl("rabbitmqctl", ["stop"]);
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }, 20_000);
      await exit;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", () => {
    if (exited === undefined) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
  const deadline = Date.now() + timeoutMs;
  for (const [host, port] of listeners) {
    while (!(await canConnect(host, port))) {
      if (exited !== undefined) {
        const logs = `${output}\n${logFile()}`;
        await stop();
        throw new Error(`rabbitmq exited (code ${exited}) before listening on ${host}:${port}:\n${logs}`);
      }
      if (Date.now() > deadline) {
        const logs = `${output}\n${logFile()}`;
        await stop();
        throw new Error(`rabbitmq did not listen on ${host}:${port} within ${timeoutMs} ms:\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { node, dir, logs: () => `${output}\n${logFile()}`, ctl, stop };
}

// ---------------------------------------------------------------------------------------------
// A whole fleet around one node, for the integration test and the bench: the CertFleet server
// (real process), an admin token, enrolled devices (key + certificate files), broker-sync's files
// (--format rabbitmq), the broker registered over REST, and the node running the configuration
// `certfleet broker-config --broker rabbitmq` generates (CRL from the distribution point).

export interface RabbitmqFleet {
  server: TestServer;
  rabbit: RunningRabbitmq;
  work: Workdir;
  token: string;
  authUrl: string;
  mqttPort: number;
  managementPort: number;
  adminUser: string;
  adminPassword: string;
  devices: Record<string, { id: string; certId: string }>;
  enroll(name: string, extra?: Record<string, unknown>): Promise<void>;
  /** mosquitto_pub once (QoS 1) with the device's certificate. */
  pub(name: string, topic: string): Promise<{ code: number; output: string }>;
  /** A long-running mosquitto_sub of the device (killed by stop()). */
  subscribe(name: string, topic: string): { child: ChildProcess; output(): string };
  /** The device's connections as the management API's connection tracking lists them. */
  connectionsOf(name: string): Promise<{ name: string; user: string }[]>;
  /** Runs broker-sync --format rabbitmq once more (CRL hash directory, chain); throws on failure. */
  sync(): void;
  stop(): Promise<void>;
}

export async function startRabbitmqFleet(deviceNames: string[], options: { crlMode?: RabbitCrlMode } = {}): Promise<RabbitmqFleet> {
  const server = await startServer("sqlite");
  const env = { ...process.env, ...server.env };
  const work = new Workdir();
  const subscribers: ChildProcess[] = [];
  let rabbit: RunningRabbitmq | undefined;
  const stop = async () => {
    for (const s of subscribers) if (s.exitCode === null) s.kill("SIGKILL");
    await rabbit?.stop();
    work.dispose();
    await server.stop();
  };
  try {
    const token = execFileSync(process.execPath, ["cli/bin.mjs", "token", "create", "--name", "fleet-admin", "--role", "admin"], { env, encoding: "utf8" }).trim();
    const devices: RabbitmqFleet["devices"] = {};
    const enroll = async (name: string, extra: Record<string, unknown> = {}) => {
      const device = await api(server.url, token, "POST", "/api/v1/devices", { name });
      if (device.status !== 201) throw new Error(`device ${name}: HTTP ${device.status}`);
      const issued = await api(server.url, token, "POST", `/api/v1/devices/${device.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" }, ...extra });
      if (issued.status !== 201) throw new Error(`certificate of ${name}: HTTP ${issued.status}`);
      work.file(`${name}.pem`, issued.data.certificatePem);
      work.file(`${name}.key`, issued.data.privateKeyPem);
      devices[name] = { id: device.data.id, certId: issued.data.certificate.id };
    };
    for (const name of deviceNames) await enroll(name);
    await enroll("rabbit-1", { profile: "broker-server", sans: { ip: [BROKER_HOST] } });
    mkdirSync(work.path("broker"));
    const mqttPort = await freePort();
    const managementPort = await freePort();
    const adminUser = "certfleet-admin";
    const adminPassword = randomBytes(18).toString("base64url");
    const registered = await api(server.url, token, "POST", "/api/v1/brokers", { name: "rabbit-1", kind: "rabbitmq", adminUrl: `http://127.0.0.1:${managementPort}`, adminUsername: adminUser, adminPassword });
    if (registered.status !== 201) throw new Error(`broker registration: HTTP ${registered.status} ${JSON.stringify(registered.data)}`);
    const authUrl: string = registered.data.authUrl;
    // The auth URL goes through the environment: it holds the broker's secret.
    const sync = () => {
      const synced = spawnSync(process.execPath, ["cli/bin.mjs", "broker-sync", "--url", server.url, "--out", work.path("broker"), "--format", "rabbitmq", "--once", "--allow-http"], {
        env: { ...env, CERTFLEET_BROKER_AUTH_URL: authUrl },
        encoding: "utf8",
      });
      if (synced.status !== 0) throw new Error(`broker-sync failed:\n${synced.stderr}`);
    };
    sync();
    const files = generateRabbitmqFiles({
      url: server.url,
      dir: work.path("broker"),
      bind: BROKER_HOST,
      mtlsPort: mqttPort,
      serverCertFile: work.path("rabbit-1.pem"),
      serverKeyFile: work.path("rabbit-1.key"),
      crlMode: options.crlMode ?? "cdp",
      authUrl,
      managementPort,
    });
    rabbit = await startRabbitmq(files, work.path("node"), [
      [BROKER_HOST, mqttPort],
      ["127.0.0.1", managementPort],
    ]);
    const tls = (name: string) => ["-h", BROKER_HOST, "-p", String(mqttPort), "--cafile", work.path("broker/ca-chain.pem"), "--cert", work.path(`${name}.pem`), "--key", work.path(`${name}.key`)];
    const pub = (name: string, topic: string) =>
      new Promise<{ code: number; output: string }>((resolve) => {
        const child = spawn(MOSQUITTO_PUB_BIN, [...tls(name), "-t", topic, "-m", "hello", "-q", "1", "-i", `${name}-pub-${randomBytes(3).toString("hex")}`], { stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (c: Buffer) => (output += c));
        child.stderr.on("data", (c: Buffer) => (output += c));
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.on("close", (code, signal) => {
          clearTimeout(timer);
          resolve({ code: code ?? (signal ? 128 : 1), output });
        });
      });
    const subscribe = (name: string, topic: string) => {
      const child = spawn(MOSQUITTO_PUB_BIN.replace(/mosquitto_pub$/, "mosquitto_sub"), [...tls(name), "-t", topic, "-q", "1", "-i", `${name}-sub`, "-v"], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout!.on("data", (c: Buffer) => (output += c));
      child.stderr!.on("data", (c: Buffer) => (output += c));
      subscribers.push(child);
      return { child, output: () => output };
    };
    const connectionsOf = async (name: string) => {
      const res = await fetch(`http://127.0.0.1:${managementPort}/api/connections/username/${encodeURIComponent(name)}`, {
        headers: { authorization: `Basic ${Buffer.from(`${adminUser}:${adminPassword}`).toString("base64")}` },
      });
      if (res.status !== 200) throw new Error(`management API: HTTP ${res.status}`);
      return ((await res.json()) as { name: string; user: string }[]).filter((c) => c.user === name);
    };
    return { server, rabbit, work, token, authUrl, mqttPort, managementPort, adminUser, adminPassword, devices, enroll, pub, subscribe, connectionsOf, sync, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
