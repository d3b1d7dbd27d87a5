// `certfleet broker-config`: prints listener configuration for broker-sync's files (lib/broker/config.ts).
import { parseArgs } from "node:util";
import { BROKER_KINDS, generateBrokerConfig, type BrokerKind } from "../lib/broker/config";

export const BROKER_CONFIG_USAGE = `usage: certfleet broker-config --broker mosquitto|emqx [options]
  --url URL            CertFleet base URL, shown in the broker-sync command
  --dir DIR            broker-sync's --out directory (default /etc/mosquitto/certfleet or /etc/emqx/certfleet)
  --bind ADDR          listen address (default: every interface)
  --mtls-port N        mutual-TLS listener port (default 8883)
  --psk-port N         PSK listener port (default 8884); --no-psk for none
  --server-cert F      this broker's certificate (default DIR/server.pem)
  --server-key F       its private key (default DIR/server.key)
  --interval D         broker-sync --interval shown in the comments (default 5m)`;

function fail(message: string): never {
  throw new Error(`broker-config: ${message}\n${BROKER_CONFIG_USAGE}`);
}

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) fail(`${flag} must be a port number from 1 to 65535`);
  return n;
}

export function brokerConfigText(argv: string[]): string {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        broker: { type: "string" },
        url: { type: "string" },
        dir: { type: "string" },
        bind: { type: "string" },
        "mtls-port": { type: "string" },
        "psk-port": { type: "string" },
        "no-psk": { type: "boolean" },
        "server-cert": { type: "string" },
        "server-key": { type: "string" },
        interval: { type: "string" },
      },
    }));
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  if (!(BROKER_KINDS as readonly string[]).includes(values.broker ?? "")) fail(`--broker must be one of ${BROKER_KINDS.join(", ")}`);
  if (values["no-psk"] && values["psk-port"] !== undefined) fail("--psk-port and --no-psk contradict each other");
  if (values.url !== undefined) {
    try {
      const u = new URL(values.url);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    } catch {
      fail("--url must be an absolute http(s) URL");
    }
  }
  try {
    return generateBrokerConfig({
      broker: values.broker as BrokerKind,
      url: values.url,
      dir: values.dir,
      bind: values.bind,
      mtlsPort: port(values["mtls-port"], "--mtls-port"),
      pskPort: values["no-psk"] ? false : port(values["psk-port"], "--psk-port"),
      serverCertFile: values["server-cert"],
      serverKeyFile: values["server-key"],
      syncInterval: values.interval,
    });
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
}

export async function brokerConfigCommand(argv: string[]): Promise<void> {
  process.stdout.write(brokerConfigText(argv));
}
