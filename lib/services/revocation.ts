// The one place that changes whether a certificate is revoked: revoke (single, bulk, decommission,
// renew that revokes the old certificate) and release of a hold. Each change bumps the CA's
// revocationVersion in the caller's transaction — the CRL signer and the OCSP caches of every app
// instance watch that number — and, after the commit, announceRevocations tells this process's
// broker endpoints at once. Nothing else bumps revocationVersion for a status change.
import type { Tx } from "../db";
import { emitAccessChanged, emitRevocationChanged } from "../events";
import { REVOCATION_REASONS, REVOCATION_REASON_NAMES } from "../pki/revocation-reasons";
import { processMetrics } from "./metrics";

async function bumpRevocationVersions(tx: Tx, caIds: Iterable<string>): Promise<string[]> {
  const changed = [...new Set(caIds)];
  for (const caId of changed) await tx.certificateAuthority.update({ where: { id: caId }, data: { revocationVersion: { increment: 1 } } });
  return changed;
}

/**
 * Revokes the given certificates with `reason`, inside the caller's transaction. A certificate on
 * hold (certificateHold) is made permanent: its reason changes and it keeps the date it was held
 * (RFC 5280 5.3.2), so a decommission or a compromise cannot be undone by a later "release hold".
 * Certificates already revoked for good are left as they are. Returns the CAs whose revoked set
 * changed: pass them to announceRevocations after the commit.
 */
export async function revokeInTx(tx: Tx, certificateIds: string[], reason: number, at: Date): Promise<{ count: number; caIds: string[] }> {
  if (certificateIds.length === 0) return { count: 0, caIds: [] };
  const certificates = await tx.certificate.findMany({
    where: { id: { in: certificateIds }, OR: [{ revokedAt: null }, { status: "revoked", revocationReason: REVOCATION_REASONS.certificateHold }] },
    select: { caId: true },
  });
  const fresh = await tx.certificate.updateMany({
    where: { id: { in: certificateIds }, revokedAt: null },
    data: { status: "revoked", revokedAt: at, revocationReason: reason },
  });
  let count = fresh.count;
  if (reason !== REVOCATION_REASONS.certificateHold) {
    const held = await tx.certificate.updateMany({
      where: { id: { in: certificateIds }, status: "revoked", revocationReason: REVOCATION_REASONS.certificateHold },
      data: { revocationReason: reason },
    });
    count += held.count;
  }
  // The device no longer has a valid current certificate: it leaves the expiry views.
  await tx.device.updateMany({ where: { currentCertId: { in: certificateIds } }, data: { certNotAfter: null } });
  // Counted when written in the caller's transaction (a later rollback of it is not uncounted).
  if (count) processMetrics().revocation.inc({ reason: REVOCATION_REASON_NAMES[reason] ?? String(reason) }, count);
  return { count, caIds: count ? await bumpRevocationVersions(tx, certificates.map((c) => c.caId)) : [] };
}

/** Releases a certificateHold inside the caller's transaction: valid again, off the CRL. */
export async function releaseHoldInTx(tx: Tx, cert: { id: string; caId: string; deviceId: string | null; notAfter: Date; supersededById: string | null }): Promise<string[]> {
  const updated = await tx.certificate.update({
    where: { id: cert.id },
    data: { status: cert.supersededById ? "superseded" : "active", revokedAt: null, revocationReason: null },
  });
  if (cert.deviceId) await tx.device.updateMany({ where: { id: cert.deviceId, currentCertId: cert.id }, data: { certNotAfter: updated.notAfter } });
  return bumpRevocationVersions(tx, [cert.caId]);
}

/**
 * After the commit: this process's CRL signer and OCSP caches act on the change at once (others
 * follow revocationVersion). With `deviceIds` (whose current certificate changed status) the MQTT
 * auth backend re-checks them and their live broker sessions are closed if they lost access
 * (lib/services/broker-sessions.ts).
 */
export function announceRevocations(caIds: Iterable<string>, deviceIds: Iterable<string | null> = []): void {
  for (const caId of new Set(caIds)) emitRevocationChanged(caId);
  const devices = [...new Set(deviceIds)].filter((id): id is string => !!id);
  if (devices.length) emitAccessChanged(devices);
}
