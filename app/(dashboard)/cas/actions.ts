"use server";
// CAs page: a CA whose key lives on the PKCS#11 token (admin). The CLI's `ca create` / `ca import`
// call the same services.
import { revalidatePath } from "next/cache";
import { authorizedAction, inputFields } from "@/lib/auth/action";
import { createTokenIssuingCa, importTokenCa } from "@/lib/services/ca-token";
import { attachBootstrapCrl, deleteBootstrapCa, registerBootstrapCa, updateCaEstSettings } from "@/lib/services/est";
import { ZTokenCaForm } from "@/lib/validation/cas";
import { ZBootstrapCaForm, ZBootstrapCaIdForm, ZBootstrapCrlForm, ZCaEstSettingsForm } from "@/lib/validation/est";

const tokenCa = authorizedAction("cas:write", ZTokenCaForm, async (actor, input) => {
  const ca =
    input.mode === "create"
      ? await createTokenIssuingCa(actor, { slug: input.slug, name: input.name, algorithm: input.algorithm })
      : await importTokenCa(actor, { slug: input.slug, name: input.name, certificatePem: input.certificatePem, keyLabel: input.keyLabel, keyIdHex: input.keyId });
  revalidatePath("/cas");
  return { slug: ca.slug, kind: ca.kind };
});
export async function tokenCaAction(prev: unknown, form: FormData) {
  return tokenCa(prev, form);
}

// EST (admin): bootstrap (manufacturer) CAs and each issuing CA's re-enrollment settings, through
// the services behind /api/v1/bootstrap-cas and PATCH /api/v1/cas/{id}/est.
const registerBootstrap = authorizedAction("cas:write", ZBootstrapCaForm, async (actor, input) => {
  const ca = await registerBootstrapCa(actor, input);
  revalidatePath("/cas");
  return { id: ca.id, name: ca.name };
});
export async function registerBootstrapCaAction(prev: unknown, form: FormData) {
  return registerBootstrap(prev, form);
}

const deleteBootstrap = authorizedAction("cas:write", ZBootstrapCaIdForm, async (actor, { id }) => {
  const removed = await deleteBootstrapCa(actor, id);
  revalidatePath("/cas");
  return removed;
});
export async function deleteBootstrapCaAction(id: string, prev: unknown) {
  return deleteBootstrap(prev, { id });
}

const attachCrl = authorizedAction("cas:write", ZBootstrapCrlForm, async (actor, { id, crl }) => {
  const ca = await attachBootstrapCrl(actor, id, { crl });
  revalidatePath("/cas");
  return { name: ca.name, revoked: ca.crl?.revoked ?? 0 };
});
export async function attachBootstrapCrlAction(id: string, prev: unknown, input: FormData | unknown) {
  return attachCrl(prev, { ...inputFields(input), id });
}

const estSettings = authorizedAction("cas:write", ZCaEstSettingsForm, async (actor, { caId, reenrollGraceDays, revokeSuperseded }) => {
  const updated = await updateCaEstSettings(actor, caId, { reenrollGraceDays, revokeSuperseded });
  revalidatePath("/cas");
  return updated;
});
export async function caEstSettingsAction(caId: string, prev: unknown, form: FormData) {
  return estSettings(prev, { ...inputFields(form), caId });
}
