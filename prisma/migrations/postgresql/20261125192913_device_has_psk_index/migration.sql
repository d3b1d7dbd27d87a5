-- CreateIndex
CREATE INDEX "Device_hasPsk_name_idx" ON "Device"("hasPsk", "name");
