import { z } from "zod";
import { ZBoolish, ZDeviceName, ZLimit, ZMetadata, ZTags } from "./common";

export const DEVICE_STATUSES = ["active", "disabled", "decommissioned"] as const;
/** EST inventory filter: never enrolled over EST, or enrolled and so re-enrolling by itself. */
export const EST_FILTERS = ["never", "self"] as const;

export const ZNewDevice = z.object({
  name: ZDeviceName,
  externalId: z.string().trim().min(1).max(128).optional(),
  tags: ZTags.optional(),
  metadata: ZMetadata.optional(),
});
export type TNewDevice = z.infer<typeof ZNewDevice>;

export const ZDeviceUpdate = z
  .object({
    externalId: z.string().trim().min(1).max(128).nullable().optional(),
    tags: ZTags.optional(),
    metadata: ZMetadata.optional(),
    status: z.enum(["active", "disabled"]).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "Nothing to change");
export type TDeviceUpdate = z.infer<typeof ZDeviceUpdate>;

export const ZDeviceQuery = z.object({
  q: z.string().trim().max(200).optional(),
  status: z.enum(DEVICE_STATUSES).optional(),
  tag: z.string().trim().max(64).optional(),
  expiringWithinDays: z.coerce.number().int().min(0).max(3650).optional(),
  caId: z.string().max(64).optional(),
  hasPsk: ZBoolish.optional(),
  /** EST: "never" enrolled over EST, or "self" (enrolled, re-enrolls by itself). */
  est: z.enum(EST_FILTERS).optional(),
  sort: z.enum(["name", "expiry", "created"]).default("name"),
  cursor: z.string().max(512).optional(),
  limit: ZLimit,
});
export type TDeviceQuery = z.infer<typeof ZDeviceQuery>;
