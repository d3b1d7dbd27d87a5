-- CreateIndex
CREATE INDEX "Device_name_prefix_idx" ON "Device"("name");

-- CreateIndex
CREATE INDEX "Device_externalId_prefix_idx" ON "Device"("externalId");
