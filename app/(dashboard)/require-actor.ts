// The signed-in actor for dashboard pages (one lookup per request, shared by layout and page).
// Pages are not the security boundary: services authorize again, and actions go through
// authorizedAction.
import "server-only";
import { cache } from "react";
import { redirect } from "next/navigation";
import { currentActor } from "@/lib/auth/session";

export const requireActor = cache(async () => {
  const actor = await currentActor();
  if (!actor) redirect("/login");
  return actor;
});
