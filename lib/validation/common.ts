// Shared zod building blocks. Schemas are named Z…, their types T….
import { z } from "zod";
import { UB_COMMON_NAME } from "../pki/limits";

export const ZId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, "Not a valid id");

/** Device names become certificate CNs and PSK identities: keep them safe for both, and no longer than a CN may be. */
export const ZDeviceName = z
  .string()
  .trim()
  .min(1, "Required")
  .max(UB_COMMON_NAME, `At most ${UB_COMMON_NAME} characters: the name becomes the certificate's common name (RFC 5280 limit)`)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "Letters, digits, '.', '_' and '-' only, starting with a letter or digit");

export const ZTag = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9:._/-]*$/, "Letters, digits and : . _ / - only");

export const ZTags = z.array(ZTag).max(32).transform((tags) => [...new Set(tags.map((t) => t.toLowerCase()))]);

export const ZMetadata = z
  .record(z.string().min(1).max(64), z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]))
  .refine((m) => JSON.stringify(m).length <= 8192, "Metadata must stay under 8 KB");

export const ZLimit = z.coerce.number().int().min(1).max(500).default(50);

/** Checkbox/text boolean from forms and query strings. */
export const ZBoolish = z.union([z.boolean(), z.enum(["true", "false", "1", "0", "on"])]).transform((v) => v === true || v === "true" || v === "1" || v === "on");

/** Form fields arrive as strings: a blank one means "not given", so optional fields and defaults apply. */
export const blankToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
