// Telling the broker that its files changed: SIGHUP to a pid (mosquitto re-reads crlfile and
// psk_file without dropping connected clients) or an operator-supplied command.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";

export type ReloadSpec =
  | { kind: "pid"; pid: number }
  /** A pid file (mosquitto's pid_file): read at reload time, so a broker restart is followed. */
  | { kind: "pid-file"; file: string }
  /** Run through /bin/sh -c; e.g. "systemctl reload mosquitto" or "docker kill -s HUP mqtt". */
  | { kind: "command"; command: string; timeoutMs?: number };

export async function reloadBroker(spec: ReloadSpec): Promise<string> {
  if (spec.kind === "command") return runReloadCommand(spec.command, spec.timeoutMs ?? 60_000);
  const pid = spec.kind === "pid" ? spec.pid : await readPidFile(spec.file);
  try {
    process.kill(pid, "SIGHUP");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`reload: cannot send SIGHUP to pid ${pid}${code === "ESRCH" ? " (no such process: is the broker running?)" : code ? ` (${code})` : ""}`);
  }
  return `sent SIGHUP to pid ${pid}`;
}

async function readPidFile(file: string): Promise<number> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new Error(`reload: cannot read pid file ${file} (${e.code ?? e.message})`);
  });
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid < 2) throw new Error(`reload: pid file ${file} does not hold a process id`);
  return pid;
}

function runReloadCommand(command: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer) => {
      if (output.length < 2000) output += chunk.toString("utf8");
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`reload command could not start: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const tail = output.trim().replace(/\s+/g, " ").slice(0, 300);
      if (code === 0) resolve(`reload command succeeded${tail ? `: ${tail}` : ""}`);
      else reject(new Error(`reload command failed (${signal ? `killed by ${signal}` : `exit ${code}`})${tail ? `: ${tail}` : ""}`));
    });
  });
}
