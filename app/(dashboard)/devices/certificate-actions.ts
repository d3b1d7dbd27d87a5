"use server";
// Server actions for certificates: the same services as /api/v1, behind the same permission checks.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { authorizedAction } from "@/lib/auth/action";
import { ZId } from "@/lib/validation/common";
import { KEY_ALGORITHMS } from "@/lib/pki/algorithms";
import { AppError } from "@/lib/errors";
import { ZIssueCertificate, ZRenewCertificate, ZRevokeCertificate } from "@/lib/validation/certificates";
import { issueDeviceCertificate, renewCertificate, revokeCertificate, unholdCertificate } from "@/lib/services/certificates";

const issue = authorizedAction("certificates:write", z.object({ deviceId: ZId, request: ZIssueCertificate }), async (actor, { deviceId, request }) => {
  const result = await issueDeviceCertificate(actor, deviceId, request);
  revalidatePath(`/devices/${deviceId}`);
  return result;
});
export async function issueCertificateAction(prev: unknown, input: unknown) {
  return issue(prev, input);
}

const renew = authorizedAction("certificates:write", z.object({ certificateId: ZId, request: ZRenewCertificate }), async (actor, { certificateId, request }) => {
  const result = await renewCertificate(actor, certificateId, request);
  if (result.certificate.deviceId) revalidatePath(`/devices/${result.certificate.deviceId}`);
  return result;
});
export async function renewCertificateAction(prev: unknown, input: unknown) {
  return renew(prev, input);
}

const revoke = authorizedAction("certificates:write", z.object({ certificateId: ZId }).extend(ZRevokeCertificate.shape), async (actor, { certificateId, reason }) => {
  const result = await revokeCertificate(actor, certificateId, reason);
  if (result.deviceId) revalidatePath(`/devices/${result.deviceId}`);
  return result;
});
export async function revokeCertificateAction(prev: unknown, input: unknown) {
  return revoke(prev, input);
}

const unhold = authorizedAction("certificates:write", z.object({ certificateId: ZId }), async (actor, { certificateId }) => {
  const result = await unholdCertificate(actor, certificateId);
  if (result.deviceId) revalidatePath(`/devices/${result.deviceId}`);
  return result;
});
export async function unholdCertificateAction(prev: unknown, input: unknown) {
  return unhold(prev, input);
}

// The device page's "Issue certificate" form (FormData): a pasted/uploaded CSR, or a key generated
// here and returned once. Field errors come back under the form's own field names.
const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const ZIssueForm = z
  .object({
    deviceId: ZId,
    mode: z.enum(["csr", "generate"]),
    csr: z.preprocess(emptyToUndefined, z.string().max(64 * 1024).optional()),
    algorithm: z.preprocess(emptyToUndefined, z.enum(KEY_ALGORITHMS).default("EC-P256")),
    format: z.preprocess(emptyToUndefined, z.enum(["pem", "pkcs12"]).default("pem")),
    password: z.preprocess(emptyToUndefined, z.string().optional()),
    validityDays: z.preprocess(emptyToUndefined, z.coerce.number({ error: "Enter a number of days" }).int().min(1).max(3650).optional()),
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

const issueForm = authorizedAction("certificates:write", ZIssueForm, async (actor, { deviceId, request: raw }) => {
  // The same schema as POST /api/v1/devices/{id}/certificates decides what is valid.
  const parsed = ZIssueCertificate.safeParse(raw);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => ({ path: i.path.join(".") || "csr", message: i.message }));
    throw new AppError("VALIDATION", "Please correct the highlighted fields", errors);
  }
  const result = await issueDeviceCertificate(actor, deviceId, parsed.data);
  revalidatePath(`/devices/${deviceId}`);
  return result;
});
export async function issueCertificateFormAction(prev: unknown, form: FormData) {
  return issueForm(prev, form);
}
