// `certfleet broker-config`: prints listener configuration for broker-sync's files (lib/broker/config.ts).
import { parseArgs } from "node:util";
import { BROKER_KINDS, RABBIT_CRL_MODES, generateBrokerConfig, type BrokerKind, type RabbitCrlMode } from "../lib/broker/config";

export const BROKER_CONFIG_USAGE = `usage: certfleet broker-config --broker mosquitto|emqx|rabbitmq [options]
  --url URL            CertFleet base URL, shown in the broker-sync command
  --dir DIR            broker-sync's --out directory (default /etc/<broker>/certfleet)
  --bind ADDR          listen address (default: every interface)
  --mtls-port N        mutual-TLS listener port (default 8883)
  --psk-port N         PSK listener port (default 8884); --no-psk for none
  --server-cert F      this broker's certificate (default DIR/server.pem)
  --server-key F       its private key (default DIR/server.key)
  --interval D         broker-sync --interval shown in the comments (default 5m)
 RabbitMQ (prints rabbitmq.conf, advanced.config and enabled_plugins):
  --crl-mode M         cdp (the broker fetches the CRL from each certificate's distribution point,
                       the default) or hash-dir (broker-sync's DIR/crl-hash/)
  --auth-url URL       the broker's auth-backend URL with its secret, as shown when the broker was
                       registered (default: a placeholder under --url)
  --management-port N  management API port (default 15672)`;

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
        "crl-mode": { type: "string" },
        "auth-url": { type: "string" },
        "management-port": { type: "string" },
      },
    }));
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  if (!(BROKER_KINDS as readonly string[]).includes(values.broker ?? "")) fail(`--broker must be one of ${BROKER_KINDS.join(", ")}`);
  if (values["no-psk"] && values["psk-port"] !== undefined) fail("--psk-port and --no-psk contradict each other");
  if (values.broker !== "rabbitmq") {
    for (const flag of ["crl-mode", "auth-url", "management-port"] as const) if (values[flag] !== undefined) fail(`--${flag} is for --broker rabbitmq`);
  } else if (values["psk-port"] !== undefined) fail("--psk-port: RabbitMQ's MQTT listener has no PSK support");
  if (values["crl-mode"] !== undefined && !(RABBIT_CRL_MODES as readonly string[]).includes(values["crl-mode"])) fail(`--crl-mode must be one of ${RABBIT_CRL_MODES.join(", ")}`);
  for (const flag of ["url", "auth-url"] as const) {
    const value = values[flag];
    if (value === undefined) continue;
    try {
      const u = new URL(value);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    } catch {
      fail(`--${flag} must be an absolute http(s) URL`);
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
      crlMode: values["crl-mode"] as RabbitCrlMode | undefined,
      authUrl: values["auth-url"],
      managementPort: port(values["management-port"], "--management-port"),
    });
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
}

export async function brokerConfigCommand(argv: string[]): Promise<void> {
  process.stdout.write(brokerConfigText(argv));
}
