import type { ReactNode } from "react";
import { AppShell } from "@/components/shell/app-shell";
import { requireActor } from "./require-actor";

export const dynamic = "force-dynamic";

export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const actor = await requireActor();
  return <AppShell actor={{ label: actor.label, role: actor.role }}>{children}</AppShell>;
}
