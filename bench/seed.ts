// Bulk rows for benchmarks: devices with certificates whose database fields are realistic
// (unique serials and fingerprints, spread expiries, some revoked). The DER column repeats one
// real certificate: queries never read it, and signing 300,000 certificates would measure the
// seeding, not the inventory.
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { db, isPostgres } from "../lib/db";
import { config } from "../lib/config";

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
    if (isPostgres()) await db().$transaction([db().device.createMany({ data: devices }), db().certificate.createMany({ data: certs }), db().deviceTag.createMany({ data: tags })], { timeout: 300_000 });
    else insertSqlite(devices, certs, tags);
    if (opts.log && (start / batch) % 10 === 0) opts.log(`  seeded ${Math.min(opts.devices, start + batch)} / ${opts.devices} devices`);
  }
}

// Prisma's createMany runs at a few thousand rows/s on SQLite; seeding 400,000 rows through it
// would dominate the run. Straight better-sqlite3 with prepared statements, in Prisma's own
// storage format (DateTime as ISO-8601 text with "+00:00", Bytes as BLOB).
let sqlite: Database.Database | undefined;
const iso = (d: Date | null) => (d ? d.toISOString().replace("Z", "+00:00") : null);

function insertSqlite(devices: any[], certs: any[], tags: any[]) {
  sqlite ??= new Database(config().databaseUrl.replace(/^file:/, ""), { timeout: 30_000 });
  const now = iso(new Date());
  const dev = sqlite.prepare('INSERT INTO "Device" (id, name, externalId, status, metadata, certNotAfter, currentCertId, hasPsk, createdAt, updatedAt) VALUES (?, ?, ?, \'active\', ?, ?, ?, 0, ?, ?)');
  const cert = sqlite.prepare(
    'INSERT INTO "Certificate" (id, deviceId, caId, serialHex, profile, subject, sans, notBefore, notAfter, fingerprint, keySource, keyAlgorithm, publicKeyDer, der, status, revokedAt, revocationReason, createdAt) VALUES (?, ?, ?, ?, ?, ?, \'{}\', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const tag = sqlite.prepare('INSERT INTO "DeviceTag" (deviceId, tag) VALUES (?, ?)');
  sqlite.transaction(() => {
    for (const d of devices) dev.run(d.id, d.name, d.externalId, d.metadata, iso(d.certNotAfter), d.currentCertId, now, now);
    for (const c of certs) cert.run(c.id, c.deviceId, c.caId, c.serialHex, c.profile, c.subject, iso(c.notBefore), iso(c.notAfter), c.fingerprint, c.keySource, c.keyAlgorithm, Buffer.from(c.publicKeyDer), Buffer.from(c.der), c.status, iso(c.revokedAt), c.revocationReason, now);
    for (const t of tags) tag.run(t.deviceId, t.tag);
  })();
}

export function closeSeedConnections() {
  sqlite?.close();
  sqlite = undefined;
}
