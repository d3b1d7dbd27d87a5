// Bulk renew/revoke requests from the inventory (one chunk per server-action call).
import { z } from "zod";
import { ZId } from "./common";
import { REVOKE_REASONS } from "./certificates";
import { BULK_CHUNK_SIZE, ZInventoryFilter } from "./inventory";

export const ZBulkOperation = z.discriminatedUnion("op", [
  z.object({ op: z.literal("renew") }).strict(),
  z.object({ op: z.literal("revoke"), reason: z.enum(REVOKE_REASONS) }).strict(),
]);
export type TBulkOperation = z.infer<typeof ZBulkOperation>;

export const ZBulkOnDevices = z.object({ operation: ZBulkOperation, deviceIds: z.array(ZId).min(1).max(BULK_CHUNK_SIZE) }).strict();
export const ZBulkOnFilter = z.object({ operation: ZBulkOperation, filter: ZInventoryFilter, afterName: z.string().max(200).nullable() }).strict();
export const ZCountFilter = z.object({ filter: ZInventoryFilter }).strict();
