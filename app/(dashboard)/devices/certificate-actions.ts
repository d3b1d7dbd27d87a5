"use server";
// Server actions for certificates: the same services as /api/v1, behind the same permission checks.
// The page binds the target id (`action.bind(null, id)`); the schema still checks it, since a
// client can send any value in its place.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { authorizedAction, inputFields } from "@/lib/auth/action";
import { ZId } from "@/lib/validation/common";
import { AppError } from "@/lib/errors";
import { ZIssueCertificate, ZIssueCertificateForm, ZRenewCertificate, ZRevokeCertificate } from "@/lib/validation/certificates";
import { issueDeviceCertificate, renewCertificate, revokeCertificate, unholdCertificate } from "@/lib/services/certificates";

const renew = authorizedAction("certificates:write", z.object({ certificateId: ZId, request: ZRenewCertificate }), async (actor, { certificateId, request }) => {
  const result = await renewCertificate(actor, certificateId, request);
  if (result.certificate.deviceId) revalidatePath(`/devices/${result.certificate.deviceId}`);
  return result;
});
export async function renewCertificateAction(certificateId: string, prev: unknown, request: unknown) {
  return renew(prev, { certificateId, request });
}

const revoke = authorizedAction("certificates:write", z.object({ certificateId: ZId }).extend(ZRevokeCertificate.shape), async (actor, { certificateId, reason }) => {
  const result = await revokeCertificate(actor, certificateId, reason);
  if (result.deviceId) revalidatePath(`/devices/${result.deviceId}`);
  return result;
});
export async function revokeCertificateAction(certificateId: string, prev: unknown, input: unknown) {
  return revoke(prev, { ...inputFields(input), certificateId });
}

const unhold = authorizedAction("certificates:write", z.object({ certificateId: ZId }), async (actor, { certificateId }) => {
  const result = await unholdCertificate(actor, certificateId);
  if (result.deviceId) revalidatePath(`/devices/${result.deviceId}`);
  return result;
});
export async function unholdCertificateAction(certificateId: string, prev: unknown) {
  return unhold(prev, { certificateId });
}

const issueForm = authorizedAction("certificates:write", ZIssueCertificateForm, async (actor, { deviceId, request: raw }) => {
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
/** The device page's "Issue certificate" form. */
export async function issueCertificateFormAction(deviceId: string, prev: unknown, form: FormData) {
  return issueForm(prev, { ...inputFields(form), deviceId });
}
