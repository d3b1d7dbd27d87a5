// One CRL generation in a fresh process, so its peak RSS is the CRL's alone:
//   node --import tsx bench/crl-worker.ts <entries>   → prints JSON
import { createIssuingCa, createRootCa } from "../lib/pki";
import { buildCrl, encodeCrlEntry } from "../lib/pki/crl";

const n = Number(process.argv[2] ?? 10_000);
const root = await createRootCa({ subject: "CN=Bench Root" });
const ca = await createIssuingCa({ parent: root, subject: "CN=Bench Issuing" });
const now = new Date();
const serials = Array.from({ length: n }, (_, i) => "7" + (i + 1).toString(16).padStart(31, "0"));

let t = performance.now();
const entries = serials.map((serialHex, i) => encodeCrlEntry({ serialHex, revokedAt: new Date(now.getTime() - (i % 86_400) * 1000), reason: 1 + (i % 5) }));
const encodeMs = performance.now() - t;
const crlOpts = { issuerCertificate: ca.der, signer: ca.signer, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000), entries, idpUris: ["http://bench/pki/crl/issuing-1.crl"] };
t = performance.now();
const der = await buildCrl({ ...crlOpts, crlNumber: 1n });
const firstBuildMs = performance.now() - t;
t = performance.now();
await buildCrl({ ...crlOpts, crlNumber: 2n });
const resignMs = performance.now() - t;
console.log(JSON.stringify({ entries: n, encodeMs, firstBuildMs, coldMs: encodeMs + firstBuildMs, resignMs, bytes: der.length, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
