-- CreateTable
CREATE TABLE "Broker" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "adminUrl" TEXT,
    "adminUsername" TEXT,
    "sealedAdminPassword" TEXT,
    "authSecretHash" TEXT NOT NULL,
    "lastSyncAt" TIMESTAMP(3),
    "lastAuthAt" TIMESTAMP(3),
    "lastKickAt" TIMESTAMP(3),
    "kickCount" INTEGER NOT NULL DEFAULT 0,
    "lastKickError" TEXT,
    "lastKickErrorAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Broker_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TopicPolicy" (
    "id" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "publish" TEXT NOT NULL DEFAULT '[]',
    "subscribe" TEXT NOT NULL DEFAULT '[]',
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "TopicPolicy_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Broker_name_key" ON "Broker"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Broker_authSecretHash_key" ON "Broker"("authSecretHash");

-- CreateIndex
CREATE UNIQUE INDEX "TopicPolicy_scope_target_key" ON "TopicPolicy"("scope", "target");
