import { z } from "zod";
import { ZId, ZTags } from "./common";

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

/** A bootstrap CA's CRL: PEM ("X509 CRL") or base64 DER; the form sends the file's text or its base64. */
export const ZBootstrapCrlInput = z.object({
  crl: z.string().trim().min(1, "Paste or upload the CRL").max(8 * 1024 * 1024, "At most 8 MiB"),
});
export type TBootstrapCrlInput = z.infer<typeof ZBootstrapCrlInput>;

export const ZBootstrapCaStatus = z.object({ status: z.enum(["active", "disabled"]) });

export const ZCaEstSettings = z.object({
  reenrollGraceDays: z.number().int().min(0).max(365),
  revokeSuperseded: z.boolean(),
});
export type TCaEstSettings = z.infer<typeof ZCaEstSettings>;

// ---- server-action forms (FormData strings; the REST schemas above take JSON) -----------------

const checkbox = z.preprocess((v) => v === "on" || v === "true" || v === true, z.boolean());

export const ZBootstrapCaForm = ZBootstrapCaInput.extend({
  allowCreate: checkbox,
  // Comma- or space-separated in the form.
  tags: z.preprocess((v) => (typeof v === "string" ? v.split(/[\s,]+/).filter(Boolean) : v), ZTags),
});

export const ZBootstrapCaIdForm = z.object({ id: ZId });
export const ZBootstrapCrlForm = ZBootstrapCrlInput.extend({ id: ZId });

export const ZCaEstSettingsForm = z.object({
  caId: ZId,
  reenrollGraceDays: z.coerce.number({ error: "A number of days" }).int("Whole days").min(0, "0 or more").max(365, "At most 365"),
  revokeSuperseded: checkbox,
});

export const ZEnrollmentSecretForm = z.object({ deviceId: ZId });
