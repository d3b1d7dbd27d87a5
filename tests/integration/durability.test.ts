// Durability of SQLite commits against power loss: every commit of issuance and revocation is
// synced to disk before it is answered. A power cut cannot be staged here, so the test watches
// the real server's system calls with strace: each committed transaction must fsync the WAL.
// (In WAL mode synchronous=NORMAL — better-sqlite3's default for a WAL database — syncs only at
// checkpoints, and the trace then shows no sync of the WAL for these commits.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { startServer, type TestServer } from "../helpers/server";
import { api } from "../helpers/http";
import { startInstance, type TestInstance } from "../helpers/instance";
import { db, disconnectDb, sqliteDirect } from "@/lib/db";

function cli(server: TestServer, args: string[]): string {
  return execFileSync(process.execPath, ["cli/bin.mjs", ...args], { env: { ...process.env, ...server.env }, encoding: "utf8" }).trim();
}

/** Attaches strace to every thread of `pid`, recording fsync/fdatasync with the file each one syncs. */
async function traceSyncs(pid: number, out: string): Promise<{ stop(): Promise<string[]> }> {
  const strace: ChildProcess = spawn("strace", ["-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o", out, "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  strace.stderr!.on("data", (d) => (err += d));
  // strace writes nothing until a traced call happens; give the attach to every thread a moment.
  await new Promise((r) => setTimeout(r, 1500));
  if (strace.exitCode !== null) throw new Error(`strace could not attach: ${err}`);
  return {
    async stop() {
      const exited = new Promise((r) => strace.once("exit", r));
      strace.kill("SIGINT");
      await exited;
      return existsSync(out) ? readFileSync(out, "utf8").split("\n").filter((l) => /f(data)?sync\(/.test(l)) : [];
    },
  };
}

describe("SQLite commits are durable (synchronous=FULL on every connection)", () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startServer("sqlite");
    token = cli(server, ["token", "create", "--name", "ops", "--role", "operator"]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("syncs the WAL for every issuance, revocation and device commit of the running server", async () => {
    const post = (path: string, body: unknown) => api(server.url, token, "POST", path, body);
    const devices: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await post("/api/v1/devices", { name: `durable-${i}` });
      expect(created.status).toBe(201);
      devices.push(created.data.id);
    }
    // Warm the issuance path (writer thread, caches) before tracing, so the count is of commits only.
    expect((await post(`/api/v1/devices/${devices[0]}/certificates`, { generateKey: { algorithm: "EC-P256" } })).status).toBe(201);

    const trace = await traceSyncs(server.pid, `${server.database.dataDir}/../strace-${server.pid}.txt`);
    const issued: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await post(`/api/v1/devices/${devices[i % 3]}/certificates`, { generateKey: { algorithm: "EC-P256" } });
      expect(res.status).toBe(201);
      issued.push(res.data.certificate.id);
    }
    for (const id of issued.slice(0, 4)) expect((await post(`/api/v1/certificates/${id}/revoke`, { reason: "keyCompromise" })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await post("/api/v1/devices", { name: `durable-late-${i}` })).status).toBe(201);
    const syncs = await trace.stop();

    const walSyncs = syncs.filter((l) => /certfleet\.db-wal>/.test(l));
    // 8 issuances (sequential: one group-commit batch each) + 4 revocations + 3 devices = 15 commits.
    expect(walSyncs.length, `syncs seen:\n${syncs.join("\n")}`).toBeGreaterThanOrEqual(15);
  });
});

describe("every SQLite connection CertFleet opens runs with synchronous=FULL", () => {
  let instance: TestInstance;
  beforeAll(async () => {
    instance = await startInstance("sqlite");
  });
  afterAll(async () => {
    await instance?.close();
  });

  it("the Prisma connection and the direct connection, also when reopened on a database already in WAL mode", async () => {
    for (let round = 0; round < 2; round++) {
      const [{ journal_mode }] = await db().$queryRawUnsafe<{ journal_mode: string }[]>("PRAGMA journal_mode");
      expect(journal_mode).toBe("wal");
      const [{ synchronous }] = await db().$queryRawUnsafe<{ synchronous: bigint | number }[]>("PRAGMA synchronous");
      expect(Number(synchronous)).toBe(2);
      expect(sqliteDirect().pragma("synchronous", { simple: true })).toBe(2);
      // The bootstrap's connection was opened before the file was in WAL mode; fresh ones are not.
      await disconnectDb();
    }
  });
});
