// CAs whose keys live on the PKCS#11 token, as the CAs page submits them (the CLI builds the same
// input from its flags): a new issuing CA with a key generated on the token, or an existing CA
// whose key is already there.
import { z } from "zod";
import { KEY_ALGORITHMS } from "../pki/algorithms";

const blank = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

const ZCaSlug = z.string().trim().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "1–63 lowercase letters, digits or “-” (it becomes part of public URLs)");
const ZCaName = z.string().trim().min(1, "A name is required").max(64, "At most 64 characters (it becomes the CA's common name)");

export const ZTokenCaForm = z.discriminatedUnion("mode", [
  z.object({
    mode: z.literal("create"),
    slug: ZCaSlug,
    name: ZCaName,
    algorithm: z.preprocess(blank, z.enum(KEY_ALGORITHMS).optional()),
  }),
  z.object({
    mode: z.literal("import"),
    slug: ZCaSlug,
    name: ZCaName,
    certificatePem: z.string().trim().min(1, "Paste the CA certificate (PEM)").max(20_000, "Too long for a certificate"),
    keyLabel: z.preprocess(blank, z.string().trim().max(128).optional()),
    keyId: z.preprocess(blank, z.string().trim().regex(/^([0-9a-fA-F]{2})+$/, "Hex bytes, e.g. 0a1b2c").optional()),
  }),
]);
export type TTokenCaForm = z.infer<typeof ZTokenCaForm>;
