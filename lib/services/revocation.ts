// Marking certificates revoked inside a caller's transaction. Every status change bumps the CA's
// revocationVersion in the same transaction: the CRL signer and the OCSP caches of every app
// instance watch that number.
import type { Tx } from "../db";
import { REVOCATION_REASONS } from "../pki/crl";

/**
 * Revokes the given certificates with `reason`. A certificate on hold (certificateHold) is made
 * permanent: its reason changes and it keeps the date it was held (RFC 5280 5.3.2), so a
 * decommission or a compromise cannot be undone by a later "release hold".
 */
export async function revokeCertificatesInTx(tx: Tx, certificateIds: string[], reason: number, at: Date): Promise<number> {
  if (certificateIds.length === 0) return 0;
  const certificates = await tx.certificate.findMany({ where: { id: { in: certificateIds } }, select: { caId: true } });
  const updated = await tx.certificate.updateMany({
    where: { id: { in: certificateIds }, revokedAt: null },
    data: { status: "revoked", revokedAt: at, revocationReason: reason },
  });
  if (reason !== REVOCATION_REASONS.certificateHold) {
    const held = await tx.certificate.updateMany({
      where: { id: { in: certificateIds }, status: "revoked", revocationReason: REVOCATION_REASONS.certificateHold },
      data: { revocationReason: reason },
    });
    updated.count += held.count;
  }
  for (const caId of new Set(certificates.map((c) => c.caId))) {
    await tx.certificateAuthority.update({ where: { id: caId }, data: { revocationVersion: { increment: 1 } } });
  }
  return updated.count;
}
