// SoftHSM2 signer beside the software signer: raw signatures/s (1, 2 and 4 sessions), device
// certificates/s through lib/pki (sign + verify-after-sign), and a 10,000-entry CRL re-sign.
// `npm run bench` adds its lines when softhsm2 is installed; alone:
//   npx tsx bench/hsm.ts        (makes a throwaway token in a temp directory)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRootCa, createIssuingCa, exportSpki, generateKeyPair, issueCertificate, type Signer } from "../lib/pki";
import { buildCrl } from "../lib/pki/crl-writer";
import { Pkcs11Token } from "../lib/pki/pkcs11";

const MODULE = process.env.CERTFLEET_PKCS11_MODULE ?? "/usr/lib/softhsm/libsofthsm2.so";

async function rate(n: number, concurrency: number, fn: () => Promise<unknown>): Promise<number> {
  let left = n;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) await fn();
  }));
  return Math.round(n / ((performance.now() - start) / 1000));
}

export interface HsmBench {
  /** Raw P-256 signatures/s: software, and SoftHSM2 by session count. */
  softwareSign: number;
  tokenSign: Record<number, number>;
  /** Device certificates/s and ms per 10,000-entry CRL, per signer. */
  issuance: { software: number; token: number };
  crlMs: { software: number; token: number };
}

export async function measureSoftHsm(): Promise<HsmBench> {
  const dir = mkdtempSync(path.join(tmpdir(), "certfleet-hsm-bench-"));
  process.env.SOFTHSM2_CONF = path.join(dir, "softhsm2.conf");
  writeFileSync(process.env.SOFTHSM2_CONF, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", "bench", "--so-pin", "so-secret", "--pin", "1234"], { stdio: "ignore" });
  try {
    const data = new Uint8Array(300).fill(7);
    const software = await createRootCa({ subject: "CN=bench software", algorithm: "EC-P256" });
    const result: HsmBench = { softwareSign: await rate(20_000, 8, () => software.signer.sign(data)), tokenSign: {}, issuance: { software: 0, token: 0 }, crlMs: { software: 0, token: 0 } };
    for (const sessions of [1, 2, 4]) {
      const token = Pkcs11Token.open({ module: MODULE, tokenLabel: "bench", pin: "1234", sessions });
      const { signer } = await token.generateKey("EC-P256", `bench-${sessions}`);
      result.tokenSign[sessions] = await rate(4_000, 8, () => signer.sign(data));
      token.close();
    }
    const token = Pkcs11Token.open({ module: MODULE, tokenLabel: "bench", pin: "1234" });
    const root = await createRootCa({ subject: "CN=bench root", algorithm: "EC-P256" });
    const cas: ["software" | "token", Signer][] = [["software", software.signer], ["token", (await token.generateKey("EC-P256", "bench-issuing")).signer]];
    const device = await exportSpki((await generateKeyPair("EC-P256")).publicKey);
    const urls = { crl: "http://x/crl", ocsp: "http://x/ocsp", caIssuers: "http://x/ca" };
    const revoked = Array.from({ length: 10_000 }, (_, i) => ({ serialHex: (0x10000000 + i).toString(16), revokedAt: new Date(), reason: 1 }));
    for (const [name, signer] of cas) {
      const issuing = await createIssuingCa({ parent: root, subject: `CN=bench ${name}`, signer });
      const issuer = { certificate: issuing.der, signer };
      const perSecond = await rate(2_000, 8, () => issueCertificate({ issuer, profile: "device-client", subject: { commonName: "dev" }, publicKey: device, urls }));
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) {
        await buildCrl({ issuerCertificate: issuing.der, signer, crlNumber: BigInt(i + 1), thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 3_600_000), revoked, idpUris: [urls.crl] });
      }
      result.issuance[name] = perSecond;
      result.crlMs[name] = (performance.now() - t0) / 5;
    }
    token.close();
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith(path.join("bench", "hsm.ts"))) {
  measureSoftHsm().then((r) => {
    console.log(`software EC-P256 signer: ${r.softwareSign} sign/s`);
    for (const [n, v] of Object.entries(r.tokenSign)) console.log(`PKCS#11 EC-P256 signer, ${n} session(s): ${v} sign/s`);
    for (const k of ["software", "token"] as const) console.log(`${k} issuing CA: ${r.issuance[k]} certificates/s (8 concurrent); CRL 10,000 entries ${r.crlMs[k].toFixed(1)} ms`);
    process.exit(0);
  });
}
