// Starts the real server (tsx server.ts, production build) on free ports with its own data
// directory and database, and stops it afterwards.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { createTestDatabase, type TestDatabase, type TestProvider } from "./databases";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  url: string;
  httpsUrl: string;
  port: number;
  httpsPort: number;
  /** The server process (for tracing it); with workers, their primary. */
  pid: number;
  /** Resolves with the exit code when the server process ends. */
  exited: Promise<number | null>;
  database: TestDatabase;
  env: Record<string, string>;
  logs(): string;
  stop(): Promise<void>;
  /** Kills the process but keeps the database (for restart tests). */
  kill(): Promise<void>;
}

export interface LaunchOptions {
  /** CERTFLEET_WORKERS; 1 (one process, as most tests want) unless said. */
  workers?: number;
}

/** `args` go to server.ts (e.g. ["--demo"]). */
export async function launchServer(database: TestDatabase, env: Record<string, string> = {}, args: string[] = [], options: LaunchOptions = {}): Promise<TestServer> {
  const port = await freePort();
  const httpsPort = await freePort();
  const fullEnv: Record<string, string> = {
    PORT: String(port),
    HTTPS_PORT: String(httpsPort),
    HOST: "127.0.0.1",
    DATABASE_URL: database.url,
    CERTFLEET_DATA_DIR: database.dataDir,
    CERTFLEET_PUBLIC_URL: `http://127.0.0.1:${port}`,
    CERTFLEET_ADMIN_EMAIL: "admin@test.local",
    CERTFLEET_ADMIN_PASSWORD: "admin-password-1",
    CERTFLEET_WORKERS: String(options.workers ?? 1),
    ...env,
  };
  let output = "";
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server.ts", ...args], {
    env: { ...process.env, ...fullEnv, NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 180_000);
    const check = () => {
      if (/HTTP\s+on /.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  // Never leave a server behind, even when the test process itself crashes.
  process.once("exit", () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const kill = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
  };
  return {
    url: `http://127.0.0.1:${port}`,
    httpsUrl: `https://127.0.0.1:${httpsPort}`,
    port,
    httpsPort,
    pid: child.pid!,
    exited,
    database,
    env: fullEnv,
    logs: () => output,
    kill,
    stop: async () => {
      await kill();
      await database.drop();
    },
  };
}

export async function startServer(provider: TestProvider, env: Record<string, string> = {}, options: LaunchOptions = {}): Promise<TestServer> {
  return launchServer(await createTestDatabase(provider), env, [], options);
}
