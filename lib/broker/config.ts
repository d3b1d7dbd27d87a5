// Listener configuration for a broker that uses broker-sync's files: mTLS with CRL checking plus a
// PSK listener, with the traps written next to the settings they concern. Pure: the CLI prints it
// and the UI shows the same text.
import { OUTPUT_FILES } from "./files";

export const BROKER_KINDS = ["mosquitto", "emqx", "rabbitmq"] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];

export interface BrokerConfigOptions {
  broker: BrokerKind;
  /** CertFleet base URL (CERTFLEET_PUBLIC_URL); shown in the broker-sync command line. */
  url?: string;
  /** broker-sync's --out directory. */
  dir?: string;
  /** Address to listen on; omitted = every interface. */
  bind?: string;
  mtlsPort?: number;
  /** PSK listener port; false = no PSK listener. */
  pskPort?: number | false;
  /** The broker's own certificate (profile broker-server) and key; default DIR/server.pem, DIR/server.key. */
  serverCertFile?: string;
  serverKeyFile?: string;
  /** broker-sync --interval suggested in the comments. */
  syncInterval?: string;
  /** RabbitMQ: where the listener gets CRLs: from each certificate's CRL Distribution Point, or broker-sync's hash directory. */
  crlMode?: RabbitCrlMode;
  /** RabbitMQ: the broker's auth-backend base URL, secret included (shown once when the broker is registered). */
  authUrl?: string;
  /** RabbitMQ: management API port (kept on loopback; CertFleet closes revoked devices' connections through it). */
  managementPort?: number;
}

export const RABBIT_CRL_MODES = ["cdp", "hash-dir"] as const;
export type RabbitCrlMode = (typeof RABBIT_CRL_MODES)[number];

export const DEFAULT_CONFIG_DIRS: Record<BrokerKind, string> = {
  mosquitto: "/etc/mosquitto/certfleet",
  emqx: "/etc/emqx/certfleet",
  rabbitmq: "/etc/rabbitmq/certfleet",
};
const PLACEHOLDER_URL = "https://certfleet.example.com";

// The PSK cipher suites EMQX must be told to offer; certificate suites stay off that listener.
const EMQX_PSK_CIPHERS = [
  "PSK-AES256-GCM-SHA384",
  "PSK-AES128-GCM-SHA256",
  "PSK-AES256-CBC-SHA384",
  "PSK-AES128-CBC-SHA256",
  "PSK-AES256-CBC-SHA",
  "PSK-AES128-CBC-SHA",
];

interface Resolved {
  url: string;
  dir: string;
  bind?: string;
  mtlsPort: number;
  pskPort: number | false;
  certFile: string;
  keyFile: string;
  interval: string;
  chain: string;
  crl: string;
  psk: string;
}

function checkPort(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${what} must be a port number from 1 to 65535`);
  return value;
}

function resolve(options: BrokerConfigOptions): Resolved {
  if (!(BROKER_KINDS as readonly string[]).includes(options.broker)) {
    throw new Error(`broker must be one of ${BROKER_KINDS.join(", ")}`);
  }
  const dir = (options.dir ?? DEFAULT_CONFIG_DIRS[options.broker]).replace(/\/+$/, "") || "/";
  const join = (name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);
  const certFile = options.serverCertFile ?? join("server.pem");
  const keyFile = options.serverKeyFile ?? join("server.key");
  // Mosquitto splits its config lines at whitespace: a path with a space cannot be written there.
  for (const [what, p] of [["dir", dir], ["server certificate", certFile], ["server key", keyFile]] as const) {
    if (/[\s"]/.test(p)) throw new Error(`${what} path "${p}" must not contain spaces or quotes`);
  }
  if (options.bind !== undefined && !/^[0-9A-Za-z.:_-]+$/.test(options.bind)) throw new Error(`bind address "${options.bind}" is not an address`);
  const mtlsPort = checkPort(options.mtlsPort ?? 8883, "mTLS port");
  // RabbitMQ's MQTT listener has no PSK support.
  const pskPort = options.pskPort === false || options.broker === "rabbitmq" ? false : checkPort(options.pskPort ?? 8884, "PSK port");
  if (pskPort === mtlsPort) throw new Error("the mTLS and PSK listeners need different ports");
  return {
    url: options.url?.replace(/\/+$/, "") || PLACEHOLDER_URL,
    dir,
    bind: options.bind,
    mtlsPort,
    pskPort,
    certFile,
    keyFile,
    interval: options.syncInterval ?? "5m",
    chain: join(OUTPUT_FILES.chain),
    crl: join(OUTPUT_FILES.crl),
    psk: join(OUTPUT_FILES.psk),
  };
}

export function generateBrokerConfig(options: BrokerConfigOptions): string {
  const r = resolve(options);
  if (options.broker === "rabbitmq") {
    const files = rabbitmqFiles(r, options);
    return [
      `# ===== ${files.confPath} =====`,
      files.rabbitmqConf,
      `%% ===== ${files.advancedPath} =====`,
      files.advancedConfig,
      `# ===== ${files.pluginsPath} =====`,
      files.enabledPlugins,
    ].join("\n");
  }
  return options.broker === "mosquitto" ? mosquittoConfig(r) : emqxConfig(r);
}

export interface RabbitmqFiles {
  confPath: string;
  advancedPath: string;
  pluginsPath: string;
  rabbitmqConf: string;
  advancedConfig: string;
  enabledPlugins: string;
}

/** The three RabbitMQ files (rabbitmq.conf, advanced.config, enabled_plugins) for broker-sync's directory. */
export function generateRabbitmqFiles(options: Omit<BrokerConfigOptions, "broker">): RabbitmqFiles {
  const full = { ...options, broker: "rabbitmq" as const };
  return rabbitmqFiles(resolve(full), full);
}

function syncCommand(r: Resolved, format: BrokerKind, reload: string): string[] {
  // The root, fetched once from /pki/ca/root.pem and compared with `certfleet ca list`, anchors
  // both TLS and the chain; plain http is accepted only when asked for.
  const trust = r.url.startsWith("http://") ? "--allow-http" : `--ca-file ${r.dir}/certfleet-root.pem`;
  return [
    `  certfleet broker-sync --url ${r.url} ${trust} --token "$CERTFLEET_BROKER_TOKEN" \\`,
    `    --out ${r.dir} --format ${format}${reload ? ` ${reload}` : ""} --interval ${r.interval}`,
  ];
}

function mosquittoConfig(r: Resolved): string {
  const listen = (port: number) => `listener ${port}${r.bind ? ` ${r.bind}` : ""}`;
  const lines = [
    "# CertFleet listeners for Mosquitto 2.x (generated by `certfleet broker-config --broker mosquitto`).",
    "#",
    `# Files in ${r.dir}:`,
    `#   ${OUTPUT_FILES.chain}, ${OUTPUT_FILES.crl}${r.pskPort ? `, ${OUTPUT_FILES.psk}` : ""}  written by certfleet broker-sync; never edit them by hand`,
    "#   server.pem, server.key        this broker's certificate (CertFleet profile broker-server, with the",
    "#                                 DNS names / IPs devices connect to) and its private key",
    "#",
    "# Keep them current; SIGHUP makes Mosquitto re-read crlfile and psk_file without dropping clients:",
    ...syncCommand(r, "mosquitto", "--reload-pid-file /run/mosquitto/mosquitto.pid").map((l) => `#${l}`),
    "#",
    "# TRAP, stale CRL = total lockout: with crlfile set, Mosquitto refuses EVERY client as soon as the",
    "# CRL of an issuing CA is missing or past its nextUpdate (mosquitto issue #1826). Run broker-sync",
    "# with an --interval well inside half of the CRL's lifetime (nextUpdate - thisUpdate) and alert",
    "# when it fails. broker-sync never installs a stale, unverifiable or rolled-back CRL: on any",
    "# problem it keeps the previous files and exits non-zero (--once) or retries (--interval).",
    "# Only the client (leaf) certificate is checked against the CRL, not the CA certificates.",
    "# Mosquitto does not fetch CRLs itself: the CRL Distribution Point in the certificates is not used.",
    "",
    "# Mutual TLS: devices present a certificate issued by a CertFleet issuing CA.",
    listen(r.mtlsPort),
    "protocol mqtt",
    `cafile ${r.chain}`,
    `certfile ${r.certFile}`,
    `keyfile ${r.keyFile}`,
    "require_certificate true",
    "# The certificate's CN (the device name) becomes the MQTT username, for ACLs.",
    "use_identity_as_username true",
    `crlfile ${r.crl}`,
  ];
  if (r.pskPort) {
    lines.push(
      "",
      "# Pre-shared keys: psk_file holds one identity:hexkey a line. ONE malformed line makes Mosquitto",
      "# reject the whole file, which is why broker-sync validates it before installing. The key is",
      "# hex-decoded here (EMQX uses the string's raw bytes: the two formats are not interchangeable).",
      "# Mosquitto does not start while psk_file is missing: broker-sync writes psk.txt once CertFleet",
      "# serves a PSK file (until then generate this config with --no-psk). Create psk.txt readable by",
      "# the broker's user (e.g. group mosquitto, mode 0640); broker-sync keeps its owner and mode.",
      "# PSK needs TLS 1.2: clients connect with e.g.",
      `#   mosquitto_pub -p ${r.pskPort} --psk-identity ID --psk HEXKEY --tls-version tlsv1.2 -t t -m m`,
      listen(r.pskPort),
      "protocol mqtt",
      "psk_hint certfleet",
      `psk_file ${r.psk}`,
      "tls_version tlsv1.2",
      "use_identity_as_username true",
    );
  }
  return `${lines.join("\n")}\n`;
}

function emqxConfig(r: Resolved): string {
  const q = (s: string) => JSON.stringify(s);
  const bind = (port: number) => q(r.bind ? `${r.bind.includes(":") ? `[${r.bind}]` : r.bind}:${port}` : `0.0.0.0:${port}`);
  const lines = [
    "## CertFleet listeners for EMQX 5.x / 6.x (emqx.conf; generated by `certfleet broker-config --broker emqx`).",
    "##",
    `## ${r.chain}${r.pskPort ? ` and ${r.psk}` : ""} are written by certfleet broker-sync:`,
    ...syncCommand(r, "emqx", '--reload-cmd "systemctl restart emqx"').map((l) => `##${l}`),
    "## server.pem (this broker's certificate, CertFleet profile broker-server, followed by the issuing",
    "## CA certificate) and server.key are installed by you.",
    "##",
    "## CRLs: EMQX does NOT read a CRL file. It downloads the CRL itself from the CRL Distribution Point",
    `## URL in each client certificate (${r.url}/pki/crl/<issuing-ca>.crl) and caches it. Traps:`,
    "##  - DER CRLs are read correctly only from EMQX 6.0.3 / 6.1.2 / 6.2.1 on; older versions read a DER",
    "##    CRL as EMPTY and silently let revoked devices in: upgrade, or make the distribution point",
    "##    answer PEM. HTTPS distribution points need EMQX 6.2.0 or later.",
    "##  - The CRL must carry an Issuing Distribution Point extension (CertFleet's CRLs do).",
    "##  - Only `ssl` listeners check CRLs: not wss, not QUIC. Only the client (leaf) certificate is checked.",
    "##  - The cache is refreshed every crl_cache.refresh_interval (15 min by default) and cannot be",
    "##    forced: a revocation takes effect within that interval. Lower it for faster revocation.",
    "##  - OCSP in EMQX only staples the broker's own certificate; it does not check client certificates.",
    "",
    "## Mutual TLS with CRL checking (replaces the default ssl listener on this port).",
    "listeners.ssl.default {",
    `  bind = ${bind(r.mtlsPort)}`,
    "  ssl_options {",
    `    cacertfile = ${q(r.chain)}`,
    `    certfile = ${q(r.certFile)}`,
    `    keyfile = ${q(r.keyFile)}`,
    "    verify = verify_peer",
    "    fail_if_no_peer_cert = true",
    "    enable_crl_check = true",
    "  }",
    "}",
    "",
    "crl_cache {",
    "  refresh_interval = 15m",
    "  http_timeout = 15s",
    "}",
    "",
    "## Optional: the certificate's CN (the device name) as MQTT username, for authorization rules.",
    '# mqtt.peer_cert_as_username = "cn"',
  ];
  if (r.pskPort) {
    lines.push(
      "",
      "## Pre-shared keys. Traps:",
      "##  - PSK cipher suites need TLS 1.2: tlsv1.3 must NOT be in `versions` (it suppresses them).",
      "##  - The secret is used as the raw bytes of the string, NOT hex-decoded: `dev1:6162` is the",
      '##    4 bytes "6162" in EMQX (2 bytes 0x61 0x62 in Mosquitto). Use broker-sync --format emqx.',
      "##  - init_file: `identity:secret` a line, split at the first separator; no comments, no blank lines.",
      "##    EMQX imports it at start-up, and importing only inserts or updates: a removed line does not",
      "##    revoke a PSK. CertFleet overwrites a revoked identity with a random secret instead.",
      "listeners.ssl.psk {",
      `  bind = ${bind(r.pskPort)}`,
      "  ssl_options {",
      '    versions = ["tlsv1.2"]',
      `    ciphers = [${EMQX_PSK_CIPHERS.map(q).join(", ")}]`,
      `    certfile = ${q(r.certFile)}`,
      `    keyfile = ${q(r.keyFile)}`,
      "  }",
      "}",
      "",
      "psk_authentication {",
      "  enable = true",
      `  init_file = ${q(r.psk)}`,
      '  separator = ":"',
      "}",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Stands for the broker's secret, which CertFleet shows once when the broker is registered. */
export const AUTH_SECRET_PLACEHOLDER = "BROKER-SECRET-SHOWN-ONCE-AT-REGISTRATION";

function rabbitmqFiles(r: Resolved, options: BrokerConfigOptions): RabbitmqFiles {
  const crlMode = options.crlMode ?? "cdp";
  if (!(RABBIT_CRL_MODES as readonly string[]).includes(crlMode)) throw new Error(`CRL mode must be one of ${RABBIT_CRL_MODES.join(", ")}`);
  const authUrl = (options.authUrl ?? `${r.url}/broker-auth/${AUTH_SECRET_PLACEHOLDER}`).replace(/\/+$/, "");
  if (/[\s"]/.test(authUrl)) throw new Error("the auth URL must not contain spaces or quotes");
  const managementPort = checkPort(options.managementPort ?? 15672, "management port");
  const join = (name: string) => (r.dir === "/" ? `/${name}` : `${r.dir}/${name}`);
  const erl = (s: string) => JSON.stringify(s); // an Erlang string literal: same escapes for these paths
  const conf = [
    "# CertFleet MQTT listener for RabbitMQ 3.10+ (rabbitmq.conf; generated by `certfleet broker-config --broker rabbitmq`).",
    "# Needs the plugins in enabled_plugins below and the TLS options in advanced.config (same directory).",
    "#",
    `# ${r.chain}${crlMode === "hash-dir" ? ` and ${join(OUTPUT_FILES.crlHashDir)}/` : ""} are written by certfleet broker-sync:`,
    ...syncCommand(r, "rabbitmq", "").map((l) => `#${l}`),
    "# (the hash directory is read at each handshake; after a CA chain change run",
    "#  `rabbitmqctl eval 'ssl:clear_pem_cache().'` or restart the node)",
    "# server.pem (this broker's certificate, CertFleet profile broker-server, followed by the issuing",
    "# CA certificate) and server.key are installed by you.",
    "#",
    "# TRAPS",
    "#  - RabbitMQ 3.10-3.12 speak MQTT 3.1.1 only (MQTT 5 arrived in 3.13).",
    "#  - ALL TLS options of the listener must be in advanced.config: an ssl_options entry there replaces",
    "#    the whole list built from this file (a split configuration fails to boot with `no_cert`), and",
    "#    the CRL cache has no rabbitmq.conf key. Do not add ssl_options.* lines here.",
    "#  - A CRL is checked only during the TLS handshake. A device revoked while connected stays",
    "#    connected until something closes its connection: CertFleet does that through the management",
    "#    API below (register this broker in CertFleet with its management URL and an admin user).",
    "#  - Only the http auth backend: do NOT add `auth_backends.2 = internal`. With ssl_cert_login the",
    "#    internal backend lets a certificate in as ANY existing internal user named like its CN,",
    "#    without a password (a device called `admin` would be your administrator). CertFleet's backend",
    "#    answers for the management admin too (the user name and password registered for this broker).",
    "#  - Do not put rabbitmq_auth_backend_cache in front with a long TTL: a disabled or revoked device",
    "#    would be allowed for that long. CertFleet answers from memory; no cache is needed.",
    "#  - Topics: the MQTT plugin turns `/` into `.` (AMQP routing keys), so a `.` inside a topic level",
    "#    is a level separator for permissions. CertFleet matches policies in that form.",
    "#  - The auth backend cannot send a bearer token: its URL carries this broker's secret. Keep this",
    "#    file readable by rabbitmq only, and CertFleet's URL on https or a private network.",
    "",
    "# AMQP off when only MQTT is used (remove this line if applications use AMQP 0-9-1).",
    "listeners.tcp = none",
    "mqtt.listeners.tcp = none",
    `mqtt.listeners.ssl.default = ${r.bind ? `${r.bind}:` : ""}${r.mtlsPort}`,
    "# The client certificate's CN (the device name) is the user; no passwords on this listener.",
    "mqtt.ssl_cert_login = true",
    "ssl_cert_login_from = common_name",
    "mqtt.allow_anonymous = false",
    "mqtt.vhost = /",
    "mqtt.exchange = amq.topic",
    "",
    "# CertFleet is the user, vhost, resource and topic authority (GET with query parameters; it",
    "# answers `allow` / `deny`).",
    "auth_backends.1 = http",
    "auth_http.http_method = get",
    `auth_http.user_path = ${authUrl}/user`,
    `auth_http.vhost_path = ${authUrl}/vhost`,
    `auth_http.resource_path = ${authUrl}/resource`,
    `auth_http.topic_path = ${authUrl}/topic`,
    "",
    "# Management API: CertFleet lists and closes the connections of revoked, disabled and",
    "# decommissioned devices here. Loopback only unless CertFleet runs on another host.",
    `management.tcp.port = ${managementPort}`,
    "management.tcp.ip = 127.0.0.1",
    "",
  ].join("\n");
  const crlCache =
    crlMode === "cdp"
      ? [
          "      %% The CRL is downloaded from the CRL Distribution Point of each client certificate on EVERY",
          "      %% handshake (OTP 25 keeps no HTTP-fetched CRL): a revocation counts from the next connection;",
          "      %% if CertFleet's CRL URL is unreachable, crl_check = peer refuses every device. Never use",
          "      %% best_effort here: without a cache it lets revoked devices in.",
          "      %% peer: only the client (leaf) certificate is checked against a CRL.",
          "      {crl_check, peer},",
          "      {crl_cache, {ssl_crl_cache, {internal, [{http, 5000}]}}}",
        ]
      : [
          `      %% CRLs from broker-sync's openssl-rehash directory (${join(OUTPUT_FILES.crlHashDir)}/<hash>.r0):`,
          "      %% a replaced file takes effect at the next handshake, no restart. A missing or stale CRL",
          "      %% refuses that CA's devices: run broker-sync well inside the CRL's half-life.",
          "      %% peer: only the client (leaf) certificate is checked against a CRL.",
          "      {crl_check, peer},",
          `      {crl_cache, {ssl_crl_hash_dir, {internal, [{dir, ${erl(join(OUTPUT_FILES.crlHashDir))}}]}}}`,
        ];
  const advanced = [
    "%% CertFleet TLS options for RabbitMQ's listeners (advanced.config). Every option of the list is here:",
    "%% an ssl_options entry in this file replaces what rabbitmq.conf would build.",
    "[",
    "  {rabbit, [",
    "    {ssl_options, [",
    `      {cacertfile, ${erl(r.chain)}},`,
    `      {certfile, ${erl(r.certFile)}},`,
    `      {keyfile, ${erl(r.keyFile)}},`,
    "      {verify, verify_peer},",
    "      {fail_if_no_peer_cert, true},",
    "      %% Only the client (leaf) certificate is checked against a CRL (the CAs are CertFleet's own).",
    "      {depth, 3},",
    ...crlCache,
    "    ]}",
    "  ]}",
    "].",
    "",
  ].join("\n");
  return {
    confPath: "/etc/rabbitmq/rabbitmq.conf",
    advancedPath: "/etc/rabbitmq/advanced.config",
    pluginsPath: "/etc/rabbitmq/enabled_plugins",
    rabbitmqConf: conf,
    advancedConfig: advanced,
    enabledPlugins: "[rabbitmq_mqtt,rabbitmq_auth_backend_http,rabbitmq_management].\n",
  };
}
