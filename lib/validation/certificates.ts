import { z } from "zod";
import { KEY_ALGORITHMS } from "../pki/algorithms";
import { REVOCATION_REASONS } from "../pki/revocation-reasons";
import { normalizeSerialHex } from "../pki/serial";
import { blankToUndefined, ZBoolish, ZId, ZLimit } from "./common";

/** Reasons an operator may give (removeFromCRL belongs to delta CRLs; CA-level reasons are not for leaves). */
export const REVOKE_REASONS = ["unspecified", "keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation", "certificateHold", "privilegeWithdrawn"] as const;
export type TRevokeReason = (typeof REVOKE_REASONS)[number];
export const reasonCode = (reason: TRevokeReason) => REVOCATION_REASONS[reason];

const ZSans = z
  .object({
    dns: z.array(z.string().trim().min(1).max(253).regex(/^[A-Za-z0-9*.-]+$/, "Not a DNS name")).max(20).optional(),
    uri: z.array(z.string().trim().url().max(1024)).max(20).optional(),
    ip: z.array(z.union([z.ipv4(), z.ipv6()])).max(20).optional(),
  })
  .strict();

const ZKeyDelivery = {
  /** How a server-generated key is returned: PEM (key + certificate + chain) or a PKCS#12 under `password`. */
  format: z.enum(["pem", "pkcs12"]).default("pem"),
  password: z.string().min(8, "At least 8 characters").max(256).optional(),
};

export const ZIssueCertificate = z
  .object({
    csr: z.string().min(1).max(64 * 1024).optional(),
    generateKey: z.object({ algorithm: z.enum(KEY_ALGORITHMS).default("EC-P256") }).strict().optional(),
    caId: z.string().max(64).optional(),
    /** device-client (default) for devices; broker-server for an MQTT broker's own TLS identity (needs sans.dns or sans.ip). */
    profile: z.enum(["device-client", "broker-server"]).default("device-client"),
    validityDays: z.number().int().min(1).max(3650).optional(),
    sans: ZSans.optional(),
    ...ZKeyDelivery,
  })
  .strict()
  .refine((v) => v.profile !== "broker-server" || (v.sans?.dns?.length ?? 0) + (v.sans?.ip?.length ?? 0) > 0, {
    message: "A broker-server certificate needs at least one DNS name or IP address in sans",
    path: ["sans"],
  })
  .refine((v) => (v.csr === undefined) !== (v.generateKey === undefined), { message: 'Give exactly one of "csr" or "generateKey"', path: ["csr"] })
  .refine((v) => v.format !== "pkcs12" || (v.generateKey && v.password), { message: "A PKCS#12 needs generateKey and a password", path: ["password"] });
export type TIssueCertificate = z.infer<typeof ZIssueCertificate>;

/**
 * The device page's "Issue certificate" form (FormData): a pasted or uploaded CSR, or a key
 * generated on the server and returned once. Field errors carry the form's own field names; the
 * result is a ZIssueCertificate request, which then decides what is valid as the REST API does.
 */
export const ZIssueCertificateForm = z
  .object({
    deviceId: ZId,
    mode: z.enum(["csr", "generate"]),
    csr: z.preprocess(blankToUndefined, z.string().max(64 * 1024).optional()),
    algorithm: z.preprocess(blankToUndefined, z.enum(KEY_ALGORITHMS).default("EC-P256")),
    format: z.preprocess(blankToUndefined, z.enum(["pem", "pkcs12"]).default("pem")),
    password: z.preprocess(blankToUndefined, z.string().optional()),
    validityDays: z.preprocess(blankToUndefined, z.coerce.number({ error: "Enter a number of days" }).int().min(1).max(3650).optional()),
  })
  .superRefine((v, ctx) => {
    if (v.mode === "csr" && !v.csr) ctx.addIssue({ code: "custom", path: ["csr"], message: "Paste a CSR (PEM) or choose a file" });
    if (v.mode === "generate" && v.format === "pkcs12" && !v.password) ctx.addIssue({ code: "custom", path: ["password"], message: "A PKCS#12 file needs a password (at least 8 characters)" });
  })
  .transform((v) => ({
    deviceId: v.deviceId,
    request:
      v.mode === "csr"
        ? { csr: v.csr, validityDays: v.validityDays }
        : { generateKey: { algorithm: v.algorithm }, format: v.format, password: v.format === "pkcs12" ? v.password : undefined, validityDays: v.validityDays },
  }));
export type TIssueCertificateForm = z.infer<typeof ZIssueCertificateForm>;

export const ZRenewCertificate = z
  .object({
    /** New key pair (server-generated keys only); the default keeps the public key. */
    rekey: z.boolean().default(false),
    /** Also revoke the old certificate (reason superseded) instead of letting it run out. */
    revokeOld: z.boolean().default(false),
    validityDays: z.number().int().min(1).max(3650).optional(),
    ...ZKeyDelivery,
  })
  .strict()
  .refine((v) => v.format !== "pkcs12" || (v.rekey && v.password), { message: "A PKCS#12 needs rekey and a password", path: ["password"] });
export type TRenewCertificate = z.infer<typeof ZRenewCertificate>;

export const ZRevokeCertificate = z.object({ reason: z.enum(REVOKE_REASONS).default("unspecified") }).strict();
export type TRevokeCertificate = z.infer<typeof ZRevokeCertificate>;

/** A serial in any spelling people copy (openssl's upper-case hex, browsers' colon pairs, with or without a leading 0 or 00 pad), as the stored serialHex. */
const ZSerial = z
  .string()
  .trim()
  .max(128)
  .transform((value, ctx) => {
    try {
      return normalizeSerialHex(value);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  });

export const CERTIFICATE_STATUSES = ["active", "revoked", "superseded", "expired"] as const;

export const ZCertificateQuery = z.object({
  deviceId: z.string().max(64).optional(),
  serial: ZSerial.optional(),
  status: z.enum(CERTIFICATE_STATUSES).optional(),
  expiringWithinDays: z.coerce.number().int().min(0).max(3650).optional(),
  caId: z.string().max(64).optional(),
  profile: z.enum(["device-client", "broker-server", "ocsp-responder"]).optional(),
  includeExpired: ZBoolish.optional(),
  cursor: z.string().max(512).optional(),
  limit: ZLimit,
});
export type TCertificateQuery = z.infer<typeof ZCertificateQuery>;
