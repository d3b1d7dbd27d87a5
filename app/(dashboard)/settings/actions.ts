"use server";
// Settings: users and API tokens (admin). Secrets (a generated password, a token) are returned once.
import { revalidatePath } from "next/cache";
import { authorizedAction, inputFields } from "@/lib/auth/action";
import { createUser, updateUser } from "@/lib/services/users";
import { createApiToken, revokeApiToken } from "@/lib/services/tokens";
import { ZNewTokenForm, ZNewUserForm, ZRevokeToken, ZUpdateUser } from "@/lib/validation/settings";

const newUser = authorizedAction("users:manage", ZNewUserForm, async (actor, input) => {
  const user = await createUser(actor, input);
  revalidatePath("/settings");
  return { email: user.email, role: user.role, generatedPassword: user.generatedPassword };
});
export async function createUserAction(prev: unknown, form: FormData) {
  return newUser(prev, form);
}

const changeUser = authorizedAction("users:manage", ZUpdateUser, async (actor, { id, ...change }) => {
  const user = await updateUser(actor, id, change);
  revalidatePath("/settings");
  return user;
});
/** `id` is bound by the caller (`action.bind(null, id)`), one binding per listed user. */
export async function updateUserAction(id: string, prev: unknown, change: unknown) {
  return changeUser(prev, { ...inputFields(change), id });
}

const newToken = authorizedAction("tokens:manage", ZNewTokenForm, async (actor, input) => {
  const token = await createApiToken(actor, input);
  revalidatePath("/settings");
  return token;
});
export async function createTokenAction(prev: unknown, form: FormData) {
  return newToken(prev, form);
}

const dropToken = authorizedAction("tokens:manage", ZRevokeToken, async (actor, { id }) => {
  const token = await revokeApiToken(actor, { id });
  revalidatePath("/settings");
  return token;
});
export async function revokeTokenAction(id: string, prev: unknown) {
  return dropToken(prev, { id });
}
