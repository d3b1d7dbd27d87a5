// The ceiling for the broker endpoints: a plain Node `http` server (one process, or a node:cluster
// of N) answering every request with a fixed 1.2 KB body — what no handler doing real work can
// beat on this machine with the same load generator.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import net from "node:net";

const SERVER = `
const http = require("node:http");
const cluster = require("node:cluster");
const body = Buffer.alloc(1200, 0x30);
const port = Number(process.argv[2]);
const workers = Number(process.argv[3]);
if (cluster.isPrimary && workers > 1) for (let i = 0; i < workers; i++) cluster.fork();
else
  http
    .createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/ocsp-response", "content-length": String(body.length) });
        res.end(body);
      });
    })
    .listen(port, "127.0.0.1");
`;

/** Starts the plain server on `port` with `workers` processes; resolves once it accepts connections. */
export async function startPlainServer(port: number, workers: number): Promise<{ url: string; stop(): void }> {
  // A file, not -e: cluster workers run the primary's script.
  const dir = mkdtempSync(path.join(tmpdir(), "certfleet-plain-"));
  const file = path.join(dir, "plain.cjs");
  writeFileSync(file, SERVER);
  const child = spawn(process.execPath, [file, String(port), String(workers)], { stdio: "ignore" });
  const stop = () => {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (up) return { url: `http://127.0.0.1:${port}`, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  stop();
  throw new Error("plain http server did not start");
}
