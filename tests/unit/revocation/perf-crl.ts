// CRL size/speed sanity check, not a test: `npx tsx tests/unit/revocation/perf-crl.ts [count...]`.
// Per size: the bulk writer (buildCrl from records, what the service does) against the per-entry
// encoder (encodeCrlEntry, then buildCrl from the encoded entries), their outputs compared byte
// for byte, and RSS. The benchmark proper is bench/crl-worker.ts.
import { randomBytes } from "node:crypto";
import { ALGORITHM_PARAMS, type KeyAlgorithm } from "@/lib/pki/algorithms";
import { buildCrl, encodeCrlEntry, type BuildCrlParams, type CrlEntryInput } from "@/lib/pki/crl-writer";
import { parseCrlInfo } from "@/lib/pki/crl-reader";
import { CryptoKeySigner, type Signer } from "@/lib/pki/signer";
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
// Same signature every time, so the two encoders' CRLs can be compared whole.
const fixed: Signer = { algorithm, publicKey: keys.publicKey, signatureOid: signer.signatureOid, sign: async () => Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01) };

for (const count of sizes.length ? sizes : [100_000, 1_000_000]) {
  const start = Date.parse("2026-01-01T00:00:00Z");
  // Records as the service reads them: 16 random bytes of serial in hex, whole-second dates.
  const random = randomBytes(16 * count);
  const records: CrlEntryInput[] = new Array(count);
  for (let i = 0; i < count; i++) {
    random[16 * i] = (random[16 * i] & 0x7f) | 0x40;
    records[i] = { serialHex: random.toString("hex", 16 * i, 16 * i + 16), revokedAt: new Date(start + i * 1000), reason: i % 3 === 0 ? 1 : i % 3 === 1 ? 4 : null };
  }
  const base: Omit<BuildCrlParams, "signer"> = { issuerCertificate: issuer, crlNumber: 42n, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86400_000), idpUris: ["http://pki.example.test/crl/perf.crl"] };

  let t = performance.now();
  const der = await buildCrl({ ...base, signer, revoked: records });
  const bulkMs = performance.now() - t;
  const rssBulk = process.memoryUsage().rss;
  t = performance.now();
  const entries = records.map(encodeCrlEntry);
  const perEntry = await buildCrl({ ...base, signer, entries });
  const perEntryMs = performance.now() - t;
  const same = Buffer.compare(await buildCrl({ ...base, signer: fixed, revoked: records }), await buildCrl({ ...base, signer: fixed, entries })) === 0;
  if (!same || parseCrlInfo(der).count !== count || parseCrlInfo(perEntry).count !== count) throw new Error("encoders disagree");
  console.log(
    `${algorithm} ${count} entries: bulk writer ${bulkMs.toFixed(0)} ms (records → signed DER, first run), ` +
      `per-entry encoder ${perEntryMs.toFixed(0)} ms, identical bytes; CRL ${mb(der.length)}, RSS ${mb(rssBulk)} after bulk, ${mb(process.memoryUsage().rss)} after both`,
  );
}
