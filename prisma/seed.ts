// Demo fleet for `npm run demo`: a few thousand devices with real certificates from the instance's
// own issuing CA — healthy, expiring in 7/30/90 days, expired, revoked for various reasons, and
// some disabled or decommissioned — so every view has something true to show.
import { db } from "../lib/db";
import { SYSTEM_ACTOR } from "../lib/auth/roles";
import { appendAudit } from "../lib/services/audit";
import { caUrls, defaultIssuingCa } from "../lib/services/cas";
import { signDeviceCertificate } from "../lib/services/certificates";
import { createOrRotatePsk, revokeDevicePsk } from "../lib/services/psk";
import { exportSpki, generateKeyPair, fixedClock } from "../lib/pki";
import { REVOCATION_REASONS } from "../lib/pki/revocation-reasons";

const SITES = ["berlin", "lyon", "austin", "osaka", "porto", "oslo"];
const KINDS = ["sensor", "gateway", "meter", "camera"];
const DAY = 86_400_000;
const VALIDITY_DAYS = 365;

/** Days until expiry for device i: a spread that fills every bucket of the overview. */
function expiresInDays(i: number): number {
  const r = (i * 7919) % 100;
  if (r < 5) return -1 - (i % 60); // expired
  if (r < 10) return 1 + (i % 7); // within 7 days
  if (r < 20) return 8 + (i % 23); // within 30 days
  if (r < 30) return 31 + (i % 60); // within 90 days
  return 91 + (i % 270);
}

const REVOKE_REASONS = [REVOCATION_REASONS.keyCompromise, REVOCATION_REASONS.cessationOfOperation, REVOCATION_REASONS.affiliationChanged, REVOCATION_REASONS.certificateHold, REVOCATION_REASONS.superseded];

export async function seedDemoFleet(count = 3000, log: (line: string) => void = console.log) {
  const existing = await db().device.count({ where: { name: { startsWith: "demo-" } } });
  if (existing > 0) {
    log(`[certfleet] demo fleet present (${existing} devices)`);
    return;
  }
  const started = Date.now();
  const ca = await defaultIssuingCa();
  const keyPool = await Promise.all(Array.from({ length: 32 }, async () => exportSpki((await generateKeyPair("EC-P256")).publicKey)));
  const now = Date.now();
  let revokedCount = 0;

  for (let start = 0; start < count; start += 250) {
    const batch = Array.from({ length: Math.min(250, count - start) }, (_, k) => start + k);
    const devices = [];
    const certificates = [];
    const tags = [];
    for (const i of batch) {
      const kind = KINDS[i % KINDS.length];
      const site = SITES[Math.floor(i / KINDS.length) % SITES.length];
      const id = `demo${String(i).padStart(6, "0")}`;
      const name = `demo-${kind}-${String(i).padStart(5, "0")}`;
      const status = i % 97 === 3 ? "disabled" : i % 131 === 5 ? "decommissioned" : "active";
      const days = expiresInDays(i);
      const issuedAt = now - (VALIDITY_DAYS - days) * DAY;
      const key = { spki: keyPool[i % keyPool.length], keyAlgorithm: "EC-P256" as const, keySource: "csr" as const };
      const issued = await signDeviceCertificate({ ca, deviceName: name, key, validityDays: VALIDITY_DAYS, clock: fixedClock(new Date(issuedAt)) });
      const revoked = status === "decommissioned" || (i % 19 === 7 && days > 0);
      const reason = status === "decommissioned" ? REVOCATION_REASONS.cessationOfOperation : REVOKE_REASONS[i % REVOKE_REASONS.length];
      if (revoked) revokedCount++;
      const certId = `${id}c1`;
      devices.push({
        id,
        name,
        externalId: `EXT-${String(100000 + i)}`,
        status,
        metadata: JSON.stringify({ site, model: `${kind}-v${1 + (i % 3)}`, firmware: `2.${i % 9}.${i % 4}` }),
        certNotAfter: revoked ? null : issued.notAfter,
        currentCertId: certId,
        createdAt: new Date(issuedAt),
      });
      certificates.push({
        id: certId,
        deviceId: id,
        caId: ca.id,
        serialHex: issued.serialHex,
        profile: "device-client",
        subject: issued.subject,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        fingerprint: issued.fingerprintSha256,
        keySource: "csr",
        keyAlgorithm: "EC-P256",
        publicKeyDer: new Uint8Array(key.spki),
        der: new Uint8Array(issued.der),
        status: revoked ? "revoked" : "active",
        revokedAt: revoked ? new Date(now - (i % 20) * DAY - 3_600_000) : null,
        revocationReason: revoked ? reason : null,
        createdAt: new Date(issuedAt),
      });
      tags.push({ deviceId: id, tag: kind }, { deviceId: id, tag: `site:${site}` });
      if (i % 5 === 0) tags.push({ deviceId: id, tag: "fw:beta" });
    }
    await db().$transaction([db().device.createMany({ data: devices }), db().certificate.createMany({ data: certificates }), db().deviceTag.createMany({ data: tags })]);
  }
  await db().$transaction(async (tx) => {
    const current = await tx.certificateAuthority.findUniqueOrThrow({ where: { id: ca.id } });
    const uris = new Set<string>(JSON.parse(current.crlUris));
    uris.add(caUrls(ca.slug).crl);
    await tx.certificateAuthority.update({ where: { id: ca.id }, data: { crlUris: JSON.stringify([...uris]), revocationVersion: { increment: 1 } } });
    await appendAudit(tx, SYSTEM_ACTOR, { action: "demo.seed", targetType: "ca", targetId: ca.id, details: { devices: count, revoked: revokedCount } });
  });
  const psks = await seedDemoPsks(count);
  log(
    `[certfleet] demo fleet: ${count} devices with certificates (${revokedCount} revoked), ${psks.created} PSKs ` +
      `(${psks.overlapping} mid-rotation, ${psks.revoked} revoked) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

/**
 * PSKs for about one active device in twelve, through the PSK service (sealed keys, audit events,
 * the broker files' change marker): some mid-rotation with an overlap window, so both identities
 * are in the broker files, and some revoked, so the EMQX file carries their tombstones. The keys
 * are never shown: a demo operator rotates or reveals them like any other.
 */
async function seedDemoPsks(count: number) {
  const devices = await db().device.findMany({ where: { status: "active", name: { startsWith: "demo-" } }, select: { id: true }, orderBy: { name: "asc" } });
  const chosen = devices.filter((_, i) => i % 12 === 1).slice(0, Math.ceil(count / 12));
  let overlapping = 0;
  let revoked = 0;
  for (const [i, device] of chosen.entries()) {
    await createOrRotatePsk(SYSTEM_ACTOR, device.id, {});
    if (i % 8 === 3) {
      await createOrRotatePsk(SYSTEM_ACTOR, device.id, { overlapSeconds: 7 * 86_400 });
      overlapping++;
    } else if (i % 8 === 6) {
      await revokeDevicePsk(SYSTEM_ACTOR, device.id);
      revoked++;
    }
  }
  return { created: chosen.length, overlapping, revoked };
}
