import type { ReactNode } from "react";
import { redirect } from "next/navigation";
import { currentActor } from "@/lib/auth/session";
import { AppShell } from "@/components/shell/app-shell";

export const dynamic = "force-dynamic";

export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const actor = await currentActor();
  if (!actor) redirect("/login");
  return <AppShell actor={{ label: actor.label, role: actor.role }}>{children}</AppShell>;
}
