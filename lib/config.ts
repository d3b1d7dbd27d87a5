// Environment configuration, validated once. Every variable is documented in README.md.
import os from "node:os";
import path from "node:path";
import { z } from "zod";

const ZEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HTTPS_PORT: z.coerce.number().int().min(0).max(65535).default(3443),
  HOST: z.string().default("0.0.0.0"),
  CERTFLEET_DATA_DIR: z.string().default("./data"),
  DATABASE_URL: z.string().optional(),
  CERTFLEET_PUBLIC_URL: z.string().url().optional(),
  CERTFLEET_MASTER_KEY: z.string().optional(),
  CERTFLEET_ADMIN_EMAIL: z.string().email().optional(),
  CERTFLEET_ADMIN_PASSWORD: z.string().min(1).optional(),
  AUTH_SECRET: z.string().optional(),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  CERTFLEET_TLS_HOSTS: z.string().default("localhost,127.0.0.1"),
  CERTFLEET_ROOT_CA_NAME: z.string().default("CertFleet Root CA"),
  CERTFLEET_ISSUING_CA_NAME: z.string().default("CertFleet Issuing CA 1"),
  CERTFLEET_CA_ORGANIZATION: z.string().default("CertFleet"),
  CERTFLEET_CA_ALGORITHM: z.enum(["EC-P256", "EC-P384", "RSA-2048", "RSA-3072", "RSA-4096"]).default("EC-P256"),
  CERTFLEET_DEVICE_CERT_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  CERTFLEET_CRL_VALIDITY_HOURS: z.coerce.number().min(0.01).max(24 * 30).default(24),
  CERTFLEET_EST_SECRET_DAYS: z.coerce.number().min(0.001).max(365).default(7),
  CERTFLEET_EST_URL: z.string().url().optional(),
  // "true" is one proxy; a number is that many proxies in a row, each appending to X-Forwarded-For.
  // CA keys on a PKCS#11 token (lib/services/hsm.ts): module, token (label or slot) and PIN (or a file holding it).
  CERTFLEET_PKCS11_MODULE: z.string().min(1).optional(),
  CERTFLEET_PKCS11_TOKEN_LABEL: z.string().min(1).optional(),
  CERTFLEET_PKCS11_SLOT: z.coerce.number().int().min(0).optional(),
  CERTFLEET_PKCS11_PIN: z.string().min(1).optional(),
  CERTFLEET_PKCS11_PIN_FILE: z.string().min(1).optional(),
  // host:port of an extra listener that serves GET /metrics without a token (keep it on a private network).
  CERTFLEET_METRICS_ADDR: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, "host:port").optional(),
  // Comma-separated device tags that get their own expiry series (a bounded label set).
  CERTFLEET_METRICS_TAGS: z.string().default(""),
  CERTFLEET_ALERT_INTERVAL_SECONDS: z.coerce.number().min(1).max(86_400).default(300),
  // Serving processes (lib/server/cluster.ts); 1 runs everything in one process.
  CERTFLEET_WORKERS: z.coerce.number().int().min(1).max(1024).optional(),
  CERTFLEET_TRUST_PROXY: z.union([z.enum(["true", "false"]), z.coerce.number().int().min(0).max(10)]).default("false"),
});

export type Config = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = ZEnv.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const pkcs11 = pkcs11Config(e);
  const dataDir = path.resolve(e.CERTFLEET_DATA_DIR);
  return {
    port: e.PORT,
    httpsPort: e.HTTPS_PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.DATABASE_URL ?? `file:${path.join(dataDir, "certfleet.db")}`,
    publicUrl: (e.CERTFLEET_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    masterKeyEnv: e.CERTFLEET_MASTER_KEY,
    authSecretEnv: e.AUTH_SECRET,
    adminEmail: e.CERTFLEET_ADMIN_EMAIL,
    adminPassword: e.CERTFLEET_ADMIN_PASSWORD,
    tlsCertFile: e.TLS_CERT_FILE,
    tlsKeyFile: e.TLS_KEY_FILE,
    tlsHosts: e.CERTFLEET_TLS_HOSTS.split(",").map((h) => h.trim()).filter(Boolean),
    rootCaName: e.CERTFLEET_ROOT_CA_NAME,
    issuingCaName: e.CERTFLEET_ISSUING_CA_NAME,
    caOrganization: e.CERTFLEET_CA_ORGANIZATION,
    caAlgorithm: e.CERTFLEET_CA_ALGORITHM,
    deviceCertDays: e.CERTFLEET_DEVICE_CERT_DAYS,
    crlValidityHours: e.CERTFLEET_CRL_VALIDITY_HOURS,
    estSecretDays: e.CERTFLEET_EST_SECRET_DAYS,
    // EST needs TLS straight to this process (the client certificate), so by default the HTTPS port on the public host.
    estUrl: (e.CERTFLEET_EST_URL ?? `https://${new URL(e.CERTFLEET_PUBLIC_URL ?? "http://localhost").hostname}:${e.HTTPS_PORT}/.well-known/est`).replace(/\/+$/, ""),
    pkcs11,
    metricsAddr: e.CERTFLEET_METRICS_ADDR ? splitHostPort(e.CERTFLEET_METRICS_ADDR) : null,
    metricsTags: e.CERTFLEET_METRICS_TAGS.split(",").map((t) => t.trim()).filter(Boolean).slice(0, 50),
    alertIntervalSeconds: e.CERTFLEET_ALERT_INTERVAL_SECONDS,
    workers: e.CERTFLEET_WORKERS ?? os.availableParallelism(),
    trustedProxies: e.CERTFLEET_TRUST_PROXY === "true" ? 1 : e.CERTFLEET_TRUST_PROXY === "false" ? 0 : e.CERTFLEET_TRUST_PROXY,
  };
}

function splitHostPort(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(":");
  return { host: value.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(value.slice(colon + 1)) };
}

export interface Pkcs11Config {
  module: string;
  tokenLabel?: string;
  slot?: number;
  /** The PIN itself, or the file to read it from (read when the token is opened, never logged). */
  pin?: string;
  pinFile?: string;
}

function pkcs11Config(e: z.infer<typeof ZEnv>): Pkcs11Config | null {
  const set = [e.CERTFLEET_PKCS11_TOKEN_LABEL, e.CERTFLEET_PKCS11_SLOT, e.CERTFLEET_PKCS11_PIN, e.CERTFLEET_PKCS11_PIN_FILE].some((v) => v !== undefined);
  if (!e.CERTFLEET_PKCS11_MODULE) {
    if (set) throw new Error("Invalid configuration: CERTFLEET_PKCS11_* is set but CERTFLEET_PKCS11_MODULE (the PKCS#11 library path) is not");
    return null;
  }
  if ((e.CERTFLEET_PKCS11_TOKEN_LABEL === undefined) === (e.CERTFLEET_PKCS11_SLOT === undefined)) {
    throw new Error("Invalid configuration: with CERTFLEET_PKCS11_MODULE set exactly one of CERTFLEET_PKCS11_TOKEN_LABEL or CERTFLEET_PKCS11_SLOT");
  }
  if ((e.CERTFLEET_PKCS11_PIN === undefined) === (e.CERTFLEET_PKCS11_PIN_FILE === undefined)) {
    throw new Error("Invalid configuration: with CERTFLEET_PKCS11_MODULE set exactly one of CERTFLEET_PKCS11_PIN or CERTFLEET_PKCS11_PIN_FILE");
  }
  return {
    module: e.CERTFLEET_PKCS11_MODULE,
    tokenLabel: e.CERTFLEET_PKCS11_TOKEN_LABEL,
    slot: e.CERTFLEET_PKCS11_SLOT,
    pin: e.CERTFLEET_PKCS11_PIN,
    pinFile: e.CERTFLEET_PKCS11_PIN_FILE,
  };
}

let cached: Config | undefined;
/** The process-wide configuration (read from the environment on first use). */
export function config(): Config {
  return (cached ??= loadConfig());
}

/** For tests that point one process at several instances in turn. */
export function resetConfigForTests() {
  cached = undefined;
}
