-- CreateTable
CREATE TABLE "Broker" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "adminUrl" TEXT,
    "adminUsername" TEXT,
    "sealedAdminPassword" TEXT,
    "authSecretHash" TEXT NOT NULL,
    "lastSyncAt" DATETIME,
    "lastAuthAt" DATETIME,
    "lastKickAt" DATETIME,
    "kickCount" INTEGER NOT NULL DEFAULT 0,
    "lastKickError" TEXT,
    "lastKickErrorAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "TopicPolicy" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "scope" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "publish" TEXT NOT NULL DEFAULT '[]',
    "subscribe" TEXT NOT NULL DEFAULT '[]',
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "Broker_name_key" ON "Broker"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Broker_authSecretHash_key" ON "Broker"("authSecretHash");

-- CreateIndex
CREATE UNIQUE INDEX "TopicPolicy_scope_target_key" ON "TopicPolicy"("scope", "target");
