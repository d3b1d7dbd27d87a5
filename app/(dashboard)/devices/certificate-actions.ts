"use server";
// Server actions for certificates: the same services as /api/v1, behind the same permission checks.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { authorizedAction } from "@/lib/auth/action";
import { ZId } from "@/lib/validation/common";
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
