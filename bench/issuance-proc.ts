// One process of the multi-process issuance line (bench/http.ts): `callers` concurrent callers
// issue from one CSR through the services, round the given devices, for `seconds`; prints the
// count as JSON. Several of these on one SQLite file are what N cluster workers issuing at once
// do to the database: one group commit per process, SQLite's write lock between them.
//   node --import tsx bench/issuance-proc.ts <seconds> <callers> <csr file> <device ids file>
// DATABASE_URL and CERTFLEET_DATA_DIR name the server's database (its master key unseals the CA key).
import { readFileSync } from "node:fs";
import { SYSTEM_ACTOR } from "../lib/auth/roles";
import { issueDeviceCertificate } from "../lib/services/certificates";
import { ZIssueCertificate } from "../lib/validation/certificates";

const [seconds, callers, csrFile, devicesFile] = process.argv.slice(2);
const input = ZIssueCertificate.parse({ csr: readFileSync(csrFile, "utf8") });
const devices = JSON.parse(readFileSync(devicesFile, "utf8")) as string[];
// Warm-up (first CA key unseal, JIT) outside the measured time, then a common start signal.
await issueDeviceCertificate(SYSTEM_ACTOR, devices[0], input);
process.stdout.write("READY\n");
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
let count = 0;
const until = Date.now() + Number(seconds) * 1000;
const t = performance.now();
await Promise.all(
  Array.from({ length: Number(callers) }, async (_, w) => {
    while (Date.now() < until) {
      await issueDeviceCertificate(SYSTEM_ACTOR, devices[(count + w) % devices.length], input);
      count++;
    }
  }),
);
process.stdout.write(JSON.stringify({ count, seconds: (performance.now() - t) / 1000 }) + "\n");
process.exit(0);
