-- AlterTable
ALTER TABLE "CertificateAuthority" ADD COLUMN     "estReenrollGraceDays" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "estRevokeSuperseded" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Device" ADD COLUMN     "estEnrolledAt" TIMESTAMP(3),
ADD COLUMN     "estEnrolledBy" TEXT;

-- CreateTable
CREATE TABLE "EnrollmentSecret" (
    "id" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EnrollmentSecret_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BootstrapCa" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "certificateDer" BYTEA NOT NULL,
    "lookup" TEXT NOT NULL,
    "allowCreate" BOOLEAN NOT NULL DEFAULT false,
    "tags" TEXT NOT NULL DEFAULT '[]',
    "status" TEXT NOT NULL DEFAULT 'active',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BootstrapCa_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "EnrollmentSecret_secretHash_key" ON "EnrollmentSecret"("secretHash");

-- CreateIndex
CREATE INDEX "EnrollmentSecret_deviceId_createdAt_idx" ON "EnrollmentSecret"("deviceId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "BootstrapCa_name_key" ON "BootstrapCa"("name");

-- CreateIndex
CREATE UNIQUE INDEX "BootstrapCa_fingerprint_key" ON "BootstrapCa"("fingerprint");

-- AddForeignKey
ALTER TABLE "EnrollmentSecret" ADD CONSTRAINT "EnrollmentSecret_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
