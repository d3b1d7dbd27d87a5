// CRL size/speed sanity check, not a test: `npx tsx tests/unit/revocation/perf-crl.ts [count...]`.
// Prints encode time (paid once per revocation, then cached), build+sign time and RSS per size.
import { randomBytes } from "node:crypto";
import { ALGORITHM_PARAMS, type KeyAlgorithm } from "@/lib/pki/algorithms";
import { buildCrl, encodeCrlEntry, parseCrlInfo } from "@/lib/pki/crl";
import { CryptoKeySigner } from "@/lib/pki/signer";
import * as x509 from "@/lib/pki/x509";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const algorithm = (process.env.ALG ?? "EC-P256") as KeyAlgorithm;
const mb = (n: number) => `${Math.round(n / 1048576)} MB`;

const params = ALGORITHM_PARAMS[algorithm];
const keys = (await x509.crypto.subtle.generateKey(params.keyGen, true, ["sign", "verify"])) as CryptoKeyPair;
const issuer = await x509.X509CertificateGenerator.createSelfSigned({
  name: "CN=Perf CA",
  keys,
  signingAlgorithm: params.signing,
  extensions: [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
});
const signer = new CryptoKeySigner(algorithm, keys.privateKey, keys.publicKey);

for (const count of sizes.length ? sizes : [100_000, 1_000_000]) {
  const revokedAt = new Date("2026-01-01T00:00:00Z");
  // Serials as they come out of the database: 16 random bytes in hex.
  const random = randomBytes(16 * Math.min(count, 65536));
  const serials: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const off = (i % 65536) * 16;
    serials[i] = (0x40 | (random[off] & 0x3f)).toString(16) + Buffer.from(random.subarray(off + 1, off + 16)).toString("hex").slice(0, 22) + i.toString(16).padStart(8, "0");
  }
  let t = performance.now();
  const entries: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) {
    entries[i] = encodeCrlEntry({
      serialHex: serials[i],
      revokedAt: new Date(revokedAt.getTime() + i * 1000),
      reason: i % 3 === 0 ? 1 : i % 3 === 1 ? 4 : undefined,
    });
  }
  const encodeMs = performance.now() - t;

  const rssBefore = process.memoryUsage().rss;
  t = performance.now();
  const der = await buildCrl({
    issuerCertificate: issuer,
    signer,
    crlNumber: 42n,
    thisUpdate: new Date(),
    nextUpdate: new Date(Date.now() + 86400_000),
    entries,
    idpUris: ["http://pki.example.test/crl/perf.crl"],
  });
  const buildMs = performance.now() - t;
  t = performance.now();
  const info = parseCrlInfo(der);
  const parseMs = performance.now() - t;
  if (info.count !== count) throw new Error("count mismatch");
  console.log(
    `${algorithm} ${count} entries: encode ${encodeMs.toFixed(0)} ms (once, cached by callers), ` +
      `build+sign ${buildMs.toFixed(0)} ms, parseCrlInfo ${parseMs.toFixed(0)} ms, ` +
      `CRL ${mb(der.length)}, RSS ${mb(rssBefore)} before build, ${mb(process.memoryUsage().rss)} after, heap ${mb(process.memoryUsage().heapUsed)}`,
  );
}
