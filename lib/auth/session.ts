// The signed-in user as an Actor, for server components, server actions and route handlers.
import "server-only";
import { getServerSession } from "next-auth";
import { db } from "../db";
import { authOptions } from "./options";
import { isRole, type Actor } from "./roles";

export async function currentActor(): Promise<Actor | null> {
  const session = await getServerSession(authOptions());
  const id = (session?.user as { id?: string } | undefined)?.id;
  if (!id) return null;
  const user = await db().user.findUnique({ where: { id }, select: { id: true, email: true, role: true, disabled: true } });
  if (!user || user.disabled || !isRole(user.role)) return null;
  return { kind: "user", id: user.id, label: user.email, role: user.role };
}
