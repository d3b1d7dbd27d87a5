import type { ReactNode } from "react";
import Link from "next/link";
import { SignOutButton } from "./sign-out-button";

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/devices", label: "Devices" },
  { href: "/cas", label: "Certificate authorities" },
  { href: "/audit", label: "Audit log" },
  { href: "/settings", label: "Settings" },
];

export function AppShell({ actor, children }: { actor: { label: string; role: string }; children: ReactNode }) {
  return (
    <div className="flex min-h-screen">
      <aside className="hidden w-60 shrink-0 flex-col border-r border-zinc-200 bg-white md:flex">
        <div className="flex h-14 items-center gap-2 border-b border-zinc-200 px-4">
          <span className="grid size-7 place-items-center rounded-md bg-zinc-900 text-xs font-bold text-white">CF</span>
          <span className="font-semibold tracking-tight">CertFleet</span>
        </div>
        <nav aria-label="Main" className="flex-1 space-y-0.5 p-2">
          {NAV.map((item) => (
            <Link key={item.href} href={item.href} className="block rounded-md px-3 py-2 text-sm text-zinc-700 hover:bg-zinc-100 hover:text-zinc-900">
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="border-t border-zinc-200 p-3 text-xs text-zinc-500">
          <div className="truncate font-medium text-zinc-800" data-testid="who">{actor.label}</div>
          <div className="mb-2 capitalize">{actor.role}</div>
          <SignOutButton />
        </div>
      </aside>
      <main className="min-w-0 flex-1 p-6 lg:p-8">{children}</main>
    </div>
  );
}
