// PSK input schemas, shared by the REST routes, the server actions and the broker endpoint.
import { z } from "zod";
import { PSK_FORMATS, PSK_IDENTITY_MAX_LENGTH, PSK_IDENTITY_PATTERN } from "../pki/psk";
import { ZId } from "./common";

/** Longest overlap window a rotation may ask for. */
export const PSK_MAX_OVERLAP_SECONDS = 90 * 86_400;

export const ZPskIdentity = z
  .string()
  .trim()
  .min(1, "Required")
  .max(PSK_IDENTITY_MAX_LENGTH)
  .regex(PSK_IDENTITY_PATTERN, "Letters, digits, '.', '_' and '-' only, starting with a letter or digit (no ':', '#' or spaces: both broker files forbid them)");

export const ZCreatePsk = z
  .object({
    /** Defaults to the device name (version 1) or `<base>.v<n>` for an overlap rotation. */
    identity: ZPskIdentity.optional(),
    /** Rotation only: keep the old key valid this long under its own identity; 0/absent = revoke it now. */
    overlapSeconds: z.number().int().min(0).max(PSK_MAX_OVERLAP_SECONDS).optional(),
  })
  .strict();
export type TCreatePsk = z.infer<typeof ZCreatePsk>;

export const ZRevealPsk = z
  .object({
    /** Which live PSK of the device; defaults to the current one. */
    identity: ZPskIdentity.optional(),
  })
  .strict();
export type TRevealPsk = z.infer<typeof ZRevealPsk>;

export const ZPskFileQuery = z.object({
  format: z.enum(PSK_FORMATS, { error: 'format must be "mosquitto" or "emqx"' }),
});
export type TPskFileQuery = z.infer<typeof ZPskFileQuery>;

// Server-action forms send strings; empty fields mean "not given".
const emptyToUndefined = (v: unknown) => (v === "" || v === null ? undefined : v);

export const ZCreatePskForm = z.object({
  deviceId: ZId,
  identity: z.preprocess(emptyToUndefined, ZPskIdentity.optional()),
  overlapSeconds: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(PSK_MAX_OVERLAP_SECONDS).optional()),
});

export const ZRevealPskForm = z.object({
  deviceId: ZId,
  identity: z.preprocess(emptyToUndefined, ZPskIdentity.optional()),
});

export const ZDevicePskForm = z.object({ deviceId: ZId });
