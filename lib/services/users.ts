// Users: creation (first admin, CLI, settings page) and role changes; the sign-in check is lib/auth/credentials.ts.
import { db } from "../db";
import { AppError, notFound } from "../errors";
import { authorize, type Actor, type Role } from "../auth/roles";
import { generatePassword, hashPassword, MIN_PASSWORD_LENGTH } from "../auth/password";
import { withAudit } from "./audit";

export interface NewUser {
  email: string;
  role: Role;
  name?: string;
  /** Generated (and returned once) when absent. */
  password?: string;
}

export async function createUser(actor: Actor, input: NewUser): Promise<{ id: string; email: string; role: Role; generatedPassword?: string }> {
  authorize(actor, "users:manage");
  const email = input.email.trim().toLowerCase();
  const password = input.password ?? generatePassword();
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AppError("VALIDATION", `Password must have at least ${MIN_PASSWORD_LENGTH} characters`, [
      { path: "password", message: `At least ${MIN_PASSWORD_LENGTH} characters` },
    ]);
  }
  const passwordHash = await hashPassword(password);
  const user = await withAudit(actor, async (tx) => {
    if (await tx.user.findUnique({ where: { email } })) throw new AppError("CONFLICT", `A user with email ${email} already exists`);
    const created = await tx.user.create({ data: { email, role: input.role, name: input.name, passwordHash } });
    return { result: created, audit: { action: "user.create", targetType: "user", targetId: created.id, details: { email, role: input.role } } };
  });
  return { id: user.id, email: user.email, role: user.role as Role, generatedPassword: input.password ? undefined : password };
}

export async function listUsers(actor: Actor) {
  authorize(actor, "users:manage");
  return db().user.findMany({
    orderBy: { email: "asc" },
    select: { id: true, email: true, name: true, role: true, disabled: true, lastLoginAt: true, createdAt: true },
  });
}

export async function updateUser(actor: Actor, id: string, change: { role?: Role; disabled?: boolean }) {
  authorize(actor, "users:manage");
  if (actor.kind === "user" && actor.id === id) throw new AppError("INVALID_STATE", "You cannot change your own role or disable yourself");
  return withAudit(actor, async (tx) => {
    const user = await tx.user.findUnique({ where: { id } });
    if (!user) throw notFound("User");
    const updated = await tx.user.update({ where: { id }, data: change, select: { id: true, email: true, role: true, disabled: true } });
    return { result: updated, audit: { action: "user.update", targetType: "user", targetId: id, details: { email: user.email, ...change } } };
  });
}

export async function countUsers(): Promise<number> {
  return db().user.count();
}
