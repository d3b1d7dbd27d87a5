-- DropIndex
DROP INDEX "Certificate_caId_revokedAt_idx";

-- CreateIndex
CREATE INDEX "Certificate_caId_revokedAt_notAfter_serialHex_revocationRea_idx" ON "Certificate"("caId", "revokedAt", "notAfter", "serialHex", "revocationReason");
