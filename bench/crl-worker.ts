// One CRL generation in a fresh process, so its peak RSS is the CRL's alone. Prints JSON.
//
//   node --import tsx bench/crl-worker.ts <entries>
//     From revoked records to signed DER: the records are what the CRL service hands to buildCrl
//     (16-byte random serial as lowercase hex, revocation Date, reason code or null). "cold" is
//     the first CRL in a process that has never built one (nothing JIT-compiled); "resign" the
//     next one over the same records — every CRL is written from the records, nothing is cached.
//
//   node --import tsx bench/crl-worker.ts <entries> --db
//     The production path on SQLite: seeds <entries> revoked certificates (a few have expired and
//     leave the CRL), then a fresh child process runs the CRL service: read the revoked set from
//     the database, encode, sign, store, prepare DER/PEM/ETag for serving. "cold" is its first
//     CRL (only the database connection is opened before), "resign" the one after a revocation
//     (the CA's revocationVersion moved).
//
// maxRssMb is the measuring process's peak RSS: runtime, records and CRL included.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

const n = Number(process.argv[2] ?? 10_000);
const mode = process.argv[3];

if (mode === "--db") {
  const { startInstance } = await import("../tests/helpers/instance");
  const { defaultIssuingCa } = await import("../lib/services/cas");
  const { closeSeedConnections, seedBulk } = await import("./seed");
  const { disconnectDb } = await import("../lib/db");
  const instance = await startInstance("sqlite");
  try {
    const ca = await defaultIssuingCa();
    const t = performance.now();
    await seedBulk({ caId: ca.id, devices: n, certsPerDevice: 1, revokedEvery: 1, der: new Uint8Array(400), spki: new Uint8Array(91), prefix: "crl" });
    closeSeedConnections();
    const seedMs = performance.now() - t;
    await disconnectDb();
    const out = execFileSync(process.execPath, ["--import", "tsx", process.argv[1], String(n), "--measure-db", ca.id], { encoding: "utf8", env: { ...process.env }, maxBuffer: 1 << 20 });
    console.log(JSON.stringify({ ...JSON.parse(out.trim().split("\n").pop()!), seedMs }));
  } finally {
    await instance.close();
  }
} else if (mode === "--measure-db") {
  const caId = process.argv[4];
  const { db } = await import("../lib/db");
  const { refreshCrl } = await import("../lib/services/crl");
  // A running server has its database connection and query compiler up before any CRL is due.
  await db().certificateAuthority.findUniqueOrThrow({ where: { id: caId }, select: { id: true } });
  let t = performance.now();
  const cold = await refreshCrl(caId);
  const coldMs = performance.now() - t;
  await db().certificateAuthority.update({ where: { id: caId }, data: { revocationVersion: { increment: 1 } } });
  t = performance.now();
  const again = await refreshCrl(caId);
  const resignMs = performance.now() - t;
  if (again.number <= cold.number) throw new Error("the CRL was not re-signed");
  console.log(JSON.stringify({ entries: cold.entryCount, coldMs, resignMs, bytes: cold.der.length, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0); // the scheduler-free service leaves only the Prisma pool open
} else {
  const { createIssuingCa, createRootCa } = await import("../lib/pki");
  const { buildCrl } = await import("../lib/pki/crl-writer");
  const root = await createRootCa({ subject: "CN=Bench Root" });
  const ca = await createIssuingCa({ parent: root, subject: "CN=Bench Issuing" });
  const now = new Date();
  now.setUTCMilliseconds(0);

  // Shaped like the records the service reads: { serialHex, revokedAt, reason }.
  const random = randomBytes(16 * n);
  const records = Array.from({ length: n }, (_, i) => {
    random[16 * i] = (random[16 * i] & 0x7f) | 0x40;
    return {
      serialHex: random.toString("hex", 16 * i, 16 * i + 16),
      revokedAt: new Date(now.getTime() - (i % 2_592_000) * 1000),
      reason: i % 7 === 6 ? null : i % 6,
    };
  });

  const build = (crlNumber: bigint) =>
    buildCrl({ issuerCertificate: ca.der, signer: ca.signer, crlNumber, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000), revoked: records, idpUris: ["http://bench/pki/crl/issuing-1.crl"] });
  let t = performance.now();
  const der = await build(1n);
  const coldMs = performance.now() - t;
  t = performance.now();
  await build(2n);
  const resignMs = performance.now() - t;
  console.log(JSON.stringify({ entries: n, coldMs, resignMs, bytes: der.length, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}
