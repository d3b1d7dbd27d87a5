-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Crl" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "caId" TEXT NOT NULL,
    "number" BIGINT NOT NULL,
    "thisUpdate" DATETIME NOT NULL,
    "nextUpdate" DATETIME NOT NULL,
    "entryCount" INTEGER NOT NULL,
    "revocationVersion" INTEGER NOT NULL DEFAULT 0,
    "sizeBytes" INTEGER NOT NULL DEFAULT 0,
    "der" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Crl_caId_fkey" FOREIGN KEY ("caId") REFERENCES "CertificateAuthority" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Crl" ("caId", "createdAt", "der", "entryCount", "id", "nextUpdate", "number", "thisUpdate") SELECT "caId", "createdAt", "der", "entryCount", "id", "nextUpdate", "number", "thisUpdate" FROM "Crl";
DROP TABLE "Crl";
ALTER TABLE "new_Crl" RENAME TO "Crl";
CREATE INDEX "Crl_caId_thisUpdate_idx" ON "Crl"("caId", "thisUpdate");
CREATE UNIQUE INDEX "Crl_caId_number_key" ON "Crl"("caId", "number");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
