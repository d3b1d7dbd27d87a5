-- CreateTable
CREATE TABLE "CertificateAuthority" (
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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "CertificateAuthority_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "CertificateAuthority" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "OcspResponder" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "caId" TEXT NOT NULL,
    "serialHex" TEXT NOT NULL,
    "notBefore" DATETIME NOT NULL,
    "notAfter" DATETIME NOT NULL,
    "certificateDer" BLOB NOT NULL,
    "sealedKey" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "OcspResponder_caId_fkey" FOREIGN KEY ("caId") REFERENCES "CertificateAuthority" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Crl" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "caId" TEXT NOT NULL,
    "number" BIGINT NOT NULL,
    "thisUpdate" DATETIME NOT NULL,
    "nextUpdate" DATETIME NOT NULL,
    "entryCount" INTEGER NOT NULL,
    "der" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Crl_caId_fkey" FOREIGN KEY ("caId") REFERENCES "CertificateAuthority" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Device" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "externalId" TEXT,
    "status" TEXT NOT NULL DEFAULT 'active',
    "metadata" TEXT NOT NULL DEFAULT '{}',
    "certNotAfter" DATETIME,
    "currentCertId" TEXT,
    "hasPsk" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "DeviceTag" (
    "deviceId" TEXT NOT NULL,
    "tag" TEXT NOT NULL,

    PRIMARY KEY ("deviceId", "tag"),
    CONSTRAINT "DeviceTag_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Certificate" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "deviceId" TEXT,
    "caId" TEXT NOT NULL,
    "serialHex" TEXT NOT NULL,
    "profile" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "sans" TEXT NOT NULL DEFAULT '{}',
    "notBefore" DATETIME NOT NULL,
    "notAfter" DATETIME NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "keySource" TEXT NOT NULL,
    "keyAlgorithm" TEXT NOT NULL,
    "publicKeyDer" BLOB NOT NULL,
    "der" BLOB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "revokedAt" DATETIME,
    "revocationReason" INTEGER,
    "supersededById" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Certificate_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Certificate_caId_fkey" FOREIGN KEY ("caId") REFERENCES "CertificateAuthority" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Psk" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "deviceId" TEXT NOT NULL,
    "identity" TEXT NOT NULL,
    "sealedSecret" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "status" TEXT NOT NULL DEFAULT 'active',
    "expiresAt" DATETIME,
    "revokedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Psk_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "passwordHash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "lastLoginAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "expiresAt" DATETIME,
    "lastUsedAt" DATETIME,
    "revokedAt" DATETIME,
    "createdBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" DATETIME NOT NULL,
    "actor" TEXT NOT NULL,
    "actorLabel" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "targetType" TEXT,
    "targetId" TEXT,
    "details" TEXT NOT NULL DEFAULT '{}',
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "AuditHead" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "seq" INTEGER NOT NULL,
    "hash" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "Setting" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "CertificateAuthority_slug_key" ON "CertificateAuthority"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "CertificateAuthority_fingerprint_key" ON "CertificateAuthority"("fingerprint");

-- CreateIndex
CREATE INDEX "OcspResponder_caId_status_idx" ON "OcspResponder"("caId", "status");

-- CreateIndex
CREATE INDEX "Crl_caId_thisUpdate_idx" ON "Crl"("caId", "thisUpdate");

-- CreateIndex
CREATE UNIQUE INDEX "Crl_caId_number_key" ON "Crl"("caId", "number");

-- CreateIndex
CREATE UNIQUE INDEX "Device_name_key" ON "Device"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Device_externalId_key" ON "Device"("externalId");

-- CreateIndex
CREATE INDEX "Device_status_name_idx" ON "Device"("status", "name");

-- CreateIndex
CREATE INDEX "Device_certNotAfter_idx" ON "Device"("certNotAfter");

-- CreateIndex
CREATE INDEX "Device_createdAt_idx" ON "Device"("createdAt");

-- CreateIndex
CREATE INDEX "DeviceTag_tag_idx" ON "DeviceTag"("tag");

-- CreateIndex
CREATE UNIQUE INDEX "Certificate_fingerprint_key" ON "Certificate"("fingerprint");

-- CreateIndex
CREATE INDEX "Certificate_notAfter_status_idx" ON "Certificate"("notAfter", "status");

-- CreateIndex
CREATE INDEX "Certificate_status_notAfter_idx" ON "Certificate"("status", "notAfter");

-- CreateIndex
CREATE INDEX "Certificate_deviceId_createdAt_idx" ON "Certificate"("deviceId", "createdAt");

-- CreateIndex
CREATE INDEX "Certificate_caId_revokedAt_idx" ON "Certificate"("caId", "revokedAt");

-- CreateIndex
CREATE UNIQUE INDEX "Certificate_caId_serialHex_key" ON "Certificate"("caId", "serialHex");

-- CreateIndex
CREATE UNIQUE INDEX "Psk_identity_key" ON "Psk"("identity");

-- CreateIndex
CREATE INDEX "Psk_deviceId_status_idx" ON "Psk"("deviceId", "status");

-- CreateIndex
CREATE INDEX "Psk_status_revokedAt_idx" ON "Psk"("status", "revokedAt");

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_name_key" ON "ApiToken"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "AuditEvent_targetType_targetId_idx" ON "AuditEvent"("targetType", "targetId");

-- CreateIndex
CREATE INDEX "AuditEvent_action_seq_idx" ON "AuditEvent"("action", "seq");

-- CreateIndex
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");
