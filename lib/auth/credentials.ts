// The sign-in check. It lives beside next-auth's configuration rather than in lib/services/users,
// because services import lib/auth (roles) and auth must not import services back.
import { db } from "../db";
import { burnPasswordCheck, verifyPassword } from "./password";
import type { Role } from "./roles";

/**
 * Checks an email/password pair. Unknown user, disabled user and wrong password all answer null
 * after the same amount of work, so callers cannot tell them apart.
 */
export async function checkCredentials(email: string, password: string) {
  const user = await db().user.findUnique({ where: { email: email.trim().toLowerCase() } });
  if (!user) {
    await burnPasswordCheck(password);
    return null;
  }
  const ok = await verifyPassword(user.passwordHash, password);
  if (!ok || user.disabled) return null;
  await db().user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
  return { id: user.id, email: user.email, role: user.role as Role, name: user.name };
}
