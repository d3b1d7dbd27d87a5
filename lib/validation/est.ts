import { z } from "zod";
import { ZTags } from "./common";

export const ZEnrollmentSecretInput = z.object({
  /** Days until the secret expires; default CERTFLEET_EST_SECRET_DAYS (7). */
  validDays: z.number().min(1 / 86_400, "At least one second").max(365).optional(),
});
export type TEnrollmentSecretInput = z.infer<typeof ZEnrollmentSecretInput>;

export const BOOTSTRAP_LOOKUPS = ["cn-as-name", "cn-as-external-id", "serial"] as const;

export const ZBootstrapCaInput = z.object({
  name: z.string().trim().min(1).max(64),
  certificatePem: z.string().min(1).max(64 * 1024),
  lookup: z.enum(BOOTSTRAP_LOOKUPS),
  allowCreate: z.boolean().default(false),
  tags: ZTags.default([]),
});
export type TBootstrapCaInput = z.infer<typeof ZBootstrapCaInput>;

export const ZBootstrapCaStatus = z.object({ status: z.enum(["active", "disabled"]) });

export const ZCaEstSettings = z.object({
  reenrollGraceDays: z.number().int().min(0).max(365),
  revokeSuperseded: z.boolean(),
});
export type TCaEstSettings = z.infer<typeof ZCaEstSettings>;
