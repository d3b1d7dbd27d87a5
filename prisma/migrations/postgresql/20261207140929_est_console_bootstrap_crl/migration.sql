-- AlterTable
ALTER TABLE "BootstrapCa" ADD COLUMN     "crlDer" BYTEA,
ADD COLUMN     "crlNextUpdate" TIMESTAMP(3),
ADD COLUMN     "crlThisUpdate" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Device_estEnrolledBy_name_idx" ON "Device"("estEnrolledBy", "name");
