-- AlterTable
ALTER TABLE "Device" ADD COLUMN "estEnrolledAt" DATETIME;
ALTER TABLE "Device" ADD COLUMN "estEnrolledBy" TEXT;

-- CreateTable
CREATE TABLE "EnrollmentSecret" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "deviceId" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME,
    "createdBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "EnrollmentSecret_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "BootstrapCa" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "certificateDer" BLOB NOT NULL,
    "lookup" TEXT NOT NULL,
    "allowCreate" BOOLEAN NOT NULL DEFAULT false,
    "tags" TEXT NOT NULL DEFAULT '[]',
    "status" TEXT NOT NULL DEFAULT 'active',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_CertificateAuthority" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "parentId" TEXT,
    "keyAlgorithm" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "serialHex" TEXT NOT NULL,
    "notBefore" DATETIME NOT NULL,
    "notAfter" DATETIME NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "certificateDer" BLOB NOT NULL,
    "sealedKey" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "crlNumber" BIGINT NOT NULL DEFAULT 0,
    "crlUris" TEXT NOT NULL DEFAULT '[]',
    "revocationVersion" INTEGER NOT NULL DEFAULT 0,
    "estReenrollGraceDays" INTEGER NOT NULL DEFAULT 0,
    "estRevokeSuperseded" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "CertificateAuthority_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "CertificateAuthority" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_CertificateAuthority" ("certificateDer", "createdAt", "crlNumber", "crlUris", "fingerprint", "id", "keyAlgorithm", "kind", "name", "notAfter", "notBefore", "parentId", "revocationVersion", "sealedKey", "serialHex", "slug", "status", "subject", "updatedAt") SELECT "certificateDer", "createdAt", "crlNumber", "crlUris", "fingerprint", "id", "keyAlgorithm", "kind", "name", "notAfter", "notBefore", "parentId", "revocationVersion", "sealedKey", "serialHex", "slug", "status", "subject", "updatedAt" FROM "CertificateAuthority";
DROP TABLE "CertificateAuthority";
ALTER TABLE "new_CertificateAuthority" RENAME TO "CertificateAuthority";
CREATE UNIQUE INDEX "CertificateAuthority_slug_key" ON "CertificateAuthority"("slug");
CREATE UNIQUE INDEX "CertificateAuthority_fingerprint_key" ON "CertificateAuthority"("fingerprint");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "EnrollmentSecret_secretHash_key" ON "EnrollmentSecret"("secretHash");

-- CreateIndex
CREATE INDEX "EnrollmentSecret_deviceId_createdAt_idx" ON "EnrollmentSecret"("deviceId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "BootstrapCa_name_key" ON "BootstrapCa"("name");

-- CreateIndex
CREATE UNIQUE INDEX "BootstrapCa_fingerprint_key" ON "BootstrapCa"("fingerprint");
