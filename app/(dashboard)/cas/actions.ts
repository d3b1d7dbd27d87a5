"use server";
// CAs page: a CA whose key lives on the PKCS#11 token (admin). The CLI's `ca create` / `ca import`
// call the same services.
import { revalidatePath } from "next/cache";
import { authorizedAction } from "@/lib/auth/action";
import { createTokenIssuingCa, importTokenCa } from "@/lib/services/ca-token";
import { ZTokenCaForm } from "@/lib/validation/cas";

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
