// The `certfleet` command. Runs against the same database and data directory as the server
// (DATABASE_URL / CERTFLEET_DATA_DIR), as the system actor, and writes audit events like the UI.
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { config } from "../lib/config";
import { providerOf } from "../lib/db-url";
import { deployMigrations } from "../lib/migrate";
import { db, disconnectDb } from "../lib/db";
import { restrictNewFiles } from "../lib/data-files";
import { SYSTEM_ACTOR, ROLES, isRole } from "../lib/auth/roles";
import { createUser } from "../lib/services/users";
import { createApiToken, revokeApiToken } from "../lib/services/tokens";
import { AppError } from "../lib/errors";
import { listCas } from "../lib/services/cas";
import { createEnrollmentSecret } from "../lib/services/est";
import { createTokenIssuingCa, importTokenCa } from "../lib/services/ca-token";
import { isKeyAlgorithm } from "../lib/pki";
import { bootstrap } from "../lib/bootstrap";
import { brokerSyncCommand, BROKER_SYNC_USAGE } from "./broker-sync";
import { brokerConfigCommand, BROKER_CONFIG_USAGE } from "./broker-config";

const USAGE = `usage: certfleet <command>
  db migrate                                         apply pending migrations
  user create --email E --role R                     password from stdin, else generated and printed
  token create --name N --role R [--expires-days D]  prints the token once
  token revoke --name N
  ca list                                            certificate authorities with their URLs
  enrollment create --device NAME [--days D]         one-time EST secret for a device (printed once)
  ca create --slug S --name N [--parent root] [--algorithm A]
                                                     new issuing CA, key generated on the PKCS#11 token
  ca import --slug S --name N --cert FILE (--key-label L | --key-id HEX)
                                                     record a CA whose key is already on the token
  broker-sync …                                      keep a broker's CA chain, CRLs and PSK file current
  broker-config --broker mosquitto|emqx …            print a working listener configuration
roles: ${ROLES.join(", ")}

${BROKER_SYNC_USAGE}

${BROKER_CONFIG_USAGE}`;

type Handler = (argv: string[]) => Promise<void>;

/**
 * Commands that read or write the database first make sure it exists: on a database that was never
 * set up (a fresh clone, before the server's first start) they run the server's first-start steps
 * (migrations, master key, CA hierarchy, first admin), so `npx certfleet token create` works at
 * once. A database in use is left alone: the migration engine must not race a running server for
 * its lock. What the steps report goes to stderr; stdout stays the command's own output.
 */
const withDatabase = (handler: Handler): Handler => async (argv) => {
  if (!(await databaseIsSetUp())) await bootstrap((line) => console.error(line));
  await handler(argv);
};

async function databaseIsSetUp(): Promise<boolean> {
  const url = config().databaseUrl;
  if (providerOf(url) === "sqlite" && !existsSync(url.replace(/^file:/, ""))) return false;
  try {
    return (await db().certificateAuthority.count({ where: { kind: "issuing" } })) > 0;
  } catch (e) {
    // P2021: the table does not exist (no migrations yet); anything else is a real error to show.
    if ((e as { code?: string }).code === "P2021") return false;
    throw e;
  } finally {
    await disconnectDb();
  }
}

function fail(message: string): never {
  throw new AppError("VALIDATION", message);
}

function role(value: string | undefined) {
  if (!isRole(value)) fail(`--role must be one of ${ROLES.join(", ")}`);
  return value;
}

async function readStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  return text || undefined;
}

const commands: Record<string, Handler> = {
  "db migrate": async () => {
    const applied = await deployMigrations(config().databaseUrl);
    console.log(applied.length ? `applied: ${applied.join(", ")}` : "database is up to date");
  },
  "user create": withDatabase(async (argv) => {
    const { values } = parseArgs({ args: argv, options: { email: { type: "string" }, role: { type: "string" }, name: { type: "string" } } });
    if (!values.email) fail("--email is required");
    const password = await readStdin();
    const user = await createUser(SYSTEM_ACTOR, { email: values.email, role: role(values.role), name: values.name, password });
    console.log(`created ${user.role} ${user.email}`);
    if (user.generatedPassword) console.log(`password: ${user.generatedPassword}`);
  }),
  "token create": withDatabase(async (argv) => {
    const { values } = parseArgs({ args: argv, options: { name: { type: "string" }, role: { type: "string" }, "expires-days": { type: "string" } } });
    if (!values.name) fail("--name is required");
    const days = values["expires-days"] === undefined ? undefined : Number(values["expires-days"]);
    if (days !== undefined && (!Number.isInteger(days) || days < 1)) fail("--expires-days must be a positive integer");
    const token = await createApiToken(SYSTEM_ACTOR, { name: values.name, role: role(values.role), expiresInDays: days });
    // The token alone on stdout, so scripts can capture it: TOKEN=$(npx certfleet token create …)
    console.log(token.token);
    console.error(`token "${token.name}" (${token.role})${token.expiresAt ? `, expires ${token.expiresAt.toISOString()}` : ""}: store it now, it is not shown again`);
  }),
  "token revoke": withDatabase(async (argv) => {
    const { values } = parseArgs({ args: argv, options: { name: { type: "string" } } });
    if (!values.name) fail("--name is required");
    const revoked = await revokeApiToken(SYSTEM_ACTOR, { name: values.name });
    console.log(`revoked token "${revoked.name}"`);
  }),
  "enrollment create": withDatabase(async (argv) => {
    const { values } = parseArgs({ args: argv, options: { device: { type: "string" }, days: { type: "string" } } });
    if (!values.device) fail("--device is required");
    const days = values.days === undefined ? undefined : Number(values.days);
    if (days !== undefined && !(days > 0 && days <= 365)) fail("--days must be a number of days between 0 and 365");
    const device = await db().device.findFirst({ where: { OR: [{ name: values.device }, { id: values.device }] }, select: { id: true } });
    if (!device) fail(`no device "${values.device}"`);
    const secret = await createEnrollmentSecret(SYSTEM_ACTOR, device!.id, { validDays: days });
    // stdout: what a provisioning script feeds to the device; it is not shown again.
    console.log(`username: ${secret.username}\npassword: ${secret.password}\nexpires: ${secret.expiresAt.toISOString()}\nest-url: ${secret.estUrl}`);
  }),
  "broker-sync": (argv) => brokerSyncCommand(argv),
  "broker-config": (argv) => brokerConfigCommand(argv),
  "ca create": withDatabase(async (argv) => {
    const { values } = parseArgs({ args: argv, options: { slug: { type: "string" }, name: { type: "string" }, parent: { type: "string" }, algorithm: { type: "string" } } });
    if (!values.slug || !values.name) fail("--slug and --name are required");
    if (values.algorithm !== undefined && !isKeyAlgorithm(values.algorithm)) fail(`--algorithm must be one of EC-P256, EC-P384, RSA-2048, RSA-3072, RSA-4096`);
    const ca = await createTokenIssuingCa(SYSTEM_ACTOR, { slug: values.slug, name: values.name, parent: values.parent, algorithm: values.algorithm });
    console.log(`created issuing CA ${ca.slug}\t${ca.keyAlgorithm}\t${ca.subject}\tsha256 ${ca.fingerprint}\tkey ${ca.keyRef}`);
  }),
  "ca import": withDatabase(async (argv) => {
    const { values } = parseArgs({ args: argv, options: { slug: { type: "string" }, name: { type: "string" }, cert: { type: "string" }, "key-label": { type: "string" }, "key-id": { type: "string" } } });
    if (!values.slug || !values.name || !values.cert) fail("--slug, --name and --cert are required");
    let pem: string;
    try {
      pem = readFileSync(values.cert, "utf8");
    } catch (e) {
      fail(`cannot read ${values.cert}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    const ca = await importTokenCa(SYSTEM_ACTOR, { slug: values.slug, name: values.name, certificatePem: pem, keyLabel: values["key-label"], keyIdHex: values["key-id"] });
    console.log(`imported ${ca.kind} CA ${ca.slug}\t${ca.keyAlgorithm}\t${ca.subject}\tsha256 ${ca.fingerprint}\tkey ${ca.keyRef}`);
  }),
  "ca list": withDatabase(async () => {
    for (const ca of await listCas(SYSTEM_ACTOR)) {
      console.log(`${ca.slug}\t${ca.kind}\t${ca.keyAlgorithm}\t${ca.status}\tnotAfter ${ca.notAfter.toISOString()}\t${ca.subject}\tsha256 ${ca.fingerprint}`);
      if (ca.urls) console.log(`  crl ${ca.urls.crl}\n  ocsp ${ca.urls.ocsp}\n  caIssuers ${ca.urls.caIssuers}`);
    }
  }),
};

export async function runCli(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help")) {
    console.log(USAGE);
    return 0;
  }
  const key = argv.slice(0, 2).join(" ");
  const handler = commands[key] ?? commands[argv[0]];
  if (!handler) {
    console.error(USAGE);
    return 2;
  }
  const rest = commands[key] ? argv.slice(2) : argv.slice(1);
  // The database commands may create the SQLite file (lib/data-files.ts); broker-sync writes a
  // broker's files with the modes the broker needs and must keep the operator's umask.
  if (!argv[0].startsWith("broker-")) restrictNewFiles();
  try {
    await handler(rest);
    return 0;
  } catch (e) {
    console.error(`certfleet: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof AppError ? 2 : 1;
  } finally {
    await disconnectDb();
  }
}

// Explicit exit: the wasm migration engine leaves a timer pending after PostgreSQL work.
runCli(process.argv.slice(2)).then((code) => process.exit(code));
