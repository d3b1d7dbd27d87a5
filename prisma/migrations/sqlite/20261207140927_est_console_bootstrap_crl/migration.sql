-- AlterTable
ALTER TABLE "BootstrapCa" ADD COLUMN "crlDer" BLOB;
ALTER TABLE "BootstrapCa" ADD COLUMN "crlNextUpdate" DATETIME;
ALTER TABLE "BootstrapCa" ADD COLUMN "crlThisUpdate" DATETIME;

-- CreateIndex
CREATE INDEX "Device_estEnrolledBy_name_idx" ON "Device"("estEnrolledBy", "name");
