// Real mosquitto brokers and clients for integration tests: each broker runs as a child process
// on free loopback ports with its own config file (never the system broker on 1883).
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import net from "node:net";
export { freePort } from "./server";
import path from "node:path";

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? "/usr/sbin/mosquitto";
export const MOSQUITTO_PUB_BIN = process.env.MOSQUITTO_PUB_BIN ?? "mosquitto_pub";

/*
 * A broker of its own host: Linux routes all of 127/8 to loopback, and a broker must not use
 * CertFleet's own server names (127.0.0.1 and localhost in tests), for which CertFleet refuses to
 * issue certificates.
 */
export const BROKER_HOST = "127.0.0.2";

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export interface RunningMosquitto {
  pid: number;
  configFile: string;
  /** Everything the broker logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Writes `config` to DIR/mosquitto.conf (plus logging to stderr, and `user root` when the tests run
 * as root: mosquitto would otherwise switch to user "mosquitto", which cannot read the temp dirs),
 * starts mosquitto and waits until every port in `ports` accepts connections.
 */
export async function startMosquitto(config: string, dir: string, ports: number[], timeoutMs = 10_000, host = "127.0.0.1"): Promise<RunningMosquitto> {
  const configFile = path.join(dir, "mosquitto.conf");
  const runtime = ["log_dest stderr", "log_type error", "log_type warning", "log_type notice", "log_type information"];
  if (process.getuid?.() === 0) runtime.unshift("user root");
  writeFileSync(configFile, `${runtime.join("\n")}\n${config}`);
  const child: ChildProcess = spawn(MOSQUITTO_BIN, ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => {
    child.on("exit", (code) => {
      exited = code;
      resolve();
    });
  });
  const stop = async () => {
    if (exited !== undefined) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exit;
    clearTimeout(killer);
  };
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await canConnect(host, port))) {
      if (exited !== undefined) throw new Error(`mosquitto exited (code ${exited}) before listening on ${port}:\n${output}`);
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { pid: child.pid!, configFile, logs: () => output, stop };
}

export interface PubOptions {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  cafile?: string;
  cert?: string;
  key?: string;
  pskIdentity?: string;
  psk?: string;
  tlsVersion?: string;
  timeoutMs?: number;
}

/** Runs mosquitto_pub once; resolves with its exit code and output. */
export function mosquittoPub(options: PubOptions): Promise<{ code: number; output: string }> {
  const args = ["-h", options.host ?? "127.0.0.1", "-p", String(options.port), "-t", "certfleet/test", "-m", "hello", "-q", "1", "-i", `t${process.pid}${Math.random().toString(16).slice(2, 8)}`];
  if (options.cafile) args.push("--cafile", options.cafile);
  if (options.cert) args.push("--cert", options.cert);
  if (options.key) args.push("--key", options.key);
  if (options.pskIdentity) args.push("--psk-identity", options.pskIdentity);
  if (options.psk) args.push("--psk", options.psk);
  if (options.tlsVersion) args.push("--tls-version", options.tlsVersion);
  return new Promise((resolve) => {
    const child = spawn(MOSQUITTO_PUB_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 8000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}
