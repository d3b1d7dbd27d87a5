// Bulk rows for benchmarks: devices with certificates whose database fields are realistic
// (unique serials and fingerprints, spread expiries, some revoked). The DER column repeats one
// real certificate: queries never read it, and signing 300,000 certificates would measure the
// seeding, not the inventory.
import { randomBytes } from "node:crypto";
import { db } from "../lib/db";

const DAY = 86_400_000;
const KINDS = ["sensor", "gateway", "meter", "camera"];

export async function seedBulk(opts: { caId: string; devices: number; certsPerDevice: number; revokedEvery?: number; der: Uint8Array<ArrayBuffer>; spki: Uint8Array<ArrayBuffer>; prefix?: string; log?: (s: string) => void }) {
  const now = Date.now();
  const prefix = opts.prefix ?? "bench";
  const batch = 2000;
  for (let start = 0; start < opts.devices; start += batch) {
    const devices = [];
    const certs = [];
    const tags = [];
    for (let i = start; i < Math.min(opts.devices, start + batch); i++) {
      const id = `${prefix}d${i}`;
      const kind = KINDS[i % KINDS.length];
      let currentId = "";
      let currentNotAfter: Date | null = null;
      for (let k = 0; k < opts.certsPerDevice; k++) {
        const current = k === opts.certsPerDevice - 1;
        const notAfter = new Date(now + ((i * 7919 + k * 31) % 400 - (current ? 20 : 400)) * DAY);
        const revoked = opts.revokedEvery ? (i * opts.certsPerDevice + k) % opts.revokedEvery === 0 : false;
        const certId = `${id}c${k}`;
        certs.push({
          id: certId,
          deviceId: id,
          caId: opts.caId,
          serialHex: "7" + randomBytes(15).toString("hex"),
          profile: "device-client",
          subject: `CN=${prefix}-${kind}-${i}`,
          notBefore: new Date(notAfter.getTime() - 365 * DAY),
          notAfter,
          fingerprint: randomBytes(32).toString("hex"),
          keySource: "csr",
          keyAlgorithm: "EC-P256",
          publicKeyDer: opts.spki,
          der: opts.der,
          status: revoked ? "revoked" : current ? "active" : "superseded",
          revokedAt: revoked ? new Date(now - (i % 30) * DAY) : null,
          revocationReason: revoked ? 1 + (i % 5) : null,
        });
        if (current) {
          currentId = certId;
          currentNotAfter = revoked ? null : notAfter;
        }
      }
      devices.push({ id, name: `${prefix}-${kind}-${String(i).padStart(7, "0")}`, externalId: `${prefix.toUpperCase()}-${i}`, currentCertId: currentId, certNotAfter: currentNotAfter, metadata: "{}" });
      tags.push({ deviceId: id, tag: kind }, { deviceId: id, tag: `site:${i % 50}` });
    }
    await db().$transaction([db().device.createMany({ data: devices }), db().certificate.createMany({ data: certs }), db().deviceTag.createMany({ data: tags })]);
    if (opts.log && (start / batch) % 10 === 0) opts.log(`  seeded ${Math.min(opts.devices, start + batch)} / ${opts.devices} devices`);
  }
}
