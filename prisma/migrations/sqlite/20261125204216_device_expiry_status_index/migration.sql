-- DropIndex
DROP INDEX "Device_certNotAfter_idx";

-- CreateIndex
CREATE INDEX "Device_certNotAfter_status_idx" ON "Device"("certNotAfter", "status");
