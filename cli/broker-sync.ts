// `certfleet broker-sync`: keeps a broker's CA chain, CRLs and PSK file current (lib/broker/sync.ts).
import { parseArgs } from "node:util";
import { parseDuration } from "../lib/broker/duration";
import { OUTPUT_FILES } from "../lib/broker/files";
import type { ReloadSpec } from "../lib/broker/reload";
import { BrokerSyncError, syncOnce, type PskMode, type SyncOptions } from "../lib/broker/sync";

export const BROKER_SYNC_USAGE = `usage: certfleet broker-sync --url URL --out DIR --format mosquitto|emqx|rabbitmq [options]
  --url URL             CertFleet base URL (CERTFLEET_PUBLIC_URL)
  --token T             broker-role API token for the PSK file (or env CERTFLEET_BROKER_TOKEN,
                        which keeps it out of the process list)
  --ca-file F           CertFleet's root CA (PEM): the trust anchor for the server's TLS
                        certificate and for the CA chain it serves. After the first install,
                        the installed chain's root is an anchor too; a chain with another root
                        is refused
  --accept-new-root     install a chain whose root is not an anchor (once, after CertFleet's
                        root really changed; not with --interval)
  --allow-http          allow an http:// URL (the token and the files travel unprotected:
                        only for a URL that never leaves the host, such as a loopback)
  --out DIR             writes DIR/${OUTPUT_FILES.chain}, DIR/${OUTPUT_FILES.crl}, DIR/${OUTPUT_FILES.psk} (state: DIR/${OUTPUT_FILES.state})
  --format F            mosquitto (PSK file identity:hexkey), emqx (identity:secret) or rabbitmq
                        (no PSK file; CRLs also as an openssl-rehash directory DIR/${OUTPUT_FILES.crlHashDir}/)
  --reload-pid N        send SIGHUP to pid N when a file changed
  --reload-pid-file F   same, reading the pid from F at reload time (mosquitto's pid_file)
  --reload-cmd "…"      run this shell command when a file changed
  --psk | --no-psk      require the PSK file / never fetch it (default: fetch it when the server
                        has one; required once DIR/${OUTPUT_FILES.psk} exists)
  --report-url URL      the broker's auth-backend URL as shown when it was registered (or env
                        CERTFLEET_BROKER_AUTH_URL): each successful run is reported there, for
                        the broker's health in CertFleet
  --once                one run, exit non-zero on any failure (the default without --interval)
  --interval 5m         run forever at this period; failures are logged and retried next tick`;

function fail(message: string): never {
  throw new Error(`broker-sync: ${message}\n${BROKER_SYNC_USAGE}`);
}

/** Parses broker-sync's flags into SyncOptions plus the run mode. Exported for tests. */
export function parseBrokerSyncArgs(argv: string[], env: Readonly<Record<string, string | undefined>> = process.env): { options: SyncOptions; intervalMs?: number } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: "string" },
        token: { type: "string" },
        "ca-file": { type: "string" },
        out: { type: "string" },
        format: { type: "string" },
        "reload-pid": { type: "string" },
        "reload-pid-file": { type: "string" },
        "reload-cmd": { type: "string" },
        interval: { type: "string" },
        once: { type: "boolean" },
        psk: { type: "boolean" },
        "no-psk": { type: "boolean" },
        "accept-new-root": { type: "boolean" },
        "allow-http": { type: "boolean" },
        "report-url": { type: "string" },
      },
    }));
  } catch (e) {
    // parseArgs names the offending flag, never a value, so the token cannot leak through here.
    fail(e instanceof Error ? e.message : String(e));
  }
  if (!values.url) fail("--url is required");
  if (!values.out) fail("--out is required");
  if (values.format !== "mosquitto" && values.format !== "emqx" && values.format !== "rabbitmq") fail("--format must be mosquitto, emqx or rabbitmq");
  if (values.format === "rabbitmq" && values.psk) fail("--psk: RabbitMQ's MQTT listener has no PSK file");
  const reloads = [values["reload-pid"], values["reload-pid-file"], values["reload-cmd"]].filter((v) => v !== undefined);
  if (reloads.length > 1) fail("give only one of --reload-pid, --reload-pid-file, --reload-cmd");
  let reload: ReloadSpec | undefined;
  if (values["reload-pid"] !== undefined) {
    const pid = Number(values["reload-pid"]);
    if (!Number.isInteger(pid) || pid < 2) fail("--reload-pid must be a process id");
    reload = { kind: "pid", pid };
  } else if (values["reload-pid-file"] !== undefined) {
    reload = { kind: "pid-file", file: values["reload-pid-file"] };
  } else if (values["reload-cmd"] !== undefined) {
    if (!values["reload-cmd"].trim()) fail("--reload-cmd is empty");
    reload = { kind: "command", command: values["reload-cmd"] };
  }
  if (values.psk && values["no-psk"]) fail("--psk and --no-psk contradict each other");
  const psk: PskMode = values.psk ? "require" : values["no-psk"] ? "off" : "auto";
  if (values.once && values.interval !== undefined) fail("--once and --interval contradict each other");
  let intervalMs: number | undefined;
  if (values.interval !== undefined) {
    try {
      intervalMs = parseDuration(values.interval);
    } catch (e) {
      fail(`--interval: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (intervalMs < 1000) fail("--interval must be at least 1s");
  }
  // A loop that accepts any new root would accept an attacker's too, on every tick.
  if (values["accept-new-root"] && values.interval !== undefined) fail("--accept-new-root is for a single run, not with --interval (accept the new root once, then sync as usual)");
  const token = values.token ?? (env.CERTFLEET_BROKER_TOKEN || undefined);
  return {
    options: {
      url: values.url,
      token,
      caFile: values["ca-file"],
      outDir: values.out,
      format: values.format,
      psk,
      reload,
      acceptNewRoot: values["accept-new-root"] === true,
      allowHttp: values["allow-http"] === true,
      reportUrl: values["report-url"] ?? (env.CERTFLEET_BROKER_AUTH_URL || undefined),
    },
    intervalMs,
  };
}

function summary(changed: string[], reloaded?: string): string {
  if (!changed.length) return "broker-sync: up to date";
  return `broker-sync: updated ${changed.join(", ")}${reloaded ? `; ${reloaded}` : ""}`;
}

export async function brokerSyncCommand(argv: string[]): Promise<void> {
  const { options, intervalMs } = parseBrokerSyncArgs(argv);
  if (intervalMs === undefined) {
    try {
      const result = await syncOnce({ ...options, log: (line) => console.error(line) });
      console.log(summary(result.changed, result.reloaded));
    } catch (e) {
      if (e instanceof BrokerSyncError) {
        throw new Error(`broker-sync failed, previous files kept:\n  ${e.failures.join("\n  ")}`);
      }
      throw e;
    }
    return;
  }

  // Interval mode: never exits on a failed run (the installed files stay in place and the next
  // tick retries); SIGINT / SIGTERM end the loop between runs.
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let stopping = false;
  const onSignal = () => {
    stopping = true;
    stop();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const stamp = () => new Date().toISOString();
  console.error(`${stamp()} broker-sync: every ${intervalMs / 1000} s into ${options.outDir}`);
  try {
    while (!stopping) {
      try {
        const result = await syncOnce({ ...options, log: (line) => console.error(`${stamp()} ${line}`) });
        if (result.changed.length) console.error(`${stamp()} ${summary(result.changed, result.reloaded)}`);
      } catch (e) {
        const reasons = e instanceof BrokerSyncError ? e.failures : [e instanceof Error ? e.message : String(e)];
        for (const reason of reasons) console.error(`${stamp()} broker-sync failed, previous files kept: ${reason}`);
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, intervalMs)))]);
      clearTimeout(timer);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
