-- Edited by hand: COLLATE "C" is what lets PostgreSQL serve the inventory's prefix search
-- (LIKE 'q%', Prisma's startsWith) from these B-trees under any database collation. Prisma's schema
-- cannot express it and its diff ignores it, so later migrations keep these indexes as they are.
-- CreateIndex
CREATE INDEX "Device_name_prefix_idx" ON "Device"("name" COLLATE "C");

-- CreateIndex
CREATE INDEX "Device_externalId_prefix_idx" ON "Device"("externalId" COLLATE "C");
