// A throwaway RabbitMQ node for integration tests: its own node name, HOME (Erlang cookie), data,
// log and config files, distribution port and listener ports, run as this user through the scripts
// in /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin (the /usr/sbin wrappers would switch to the
// system node's user and cookie). Never touches the system node.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { freePort } from "./server";
import { canConnect } from "./mosquitto";

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
