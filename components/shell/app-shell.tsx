import type { ReactNode } from "react";
import Link from "next/link";
import { ToastProvider } from "@/components/ui/toast";
import { can, type Role } from "@/lib/auth/roles";
import { NavLinks } from "./nav-links";
import { SignOutButton } from "./sign-out-button";

function Logo() {
  return (
    <Link href="/" className="flex items-center gap-2 rounded-md focus-visible:outline-2 focus-visible:outline-zinc-900">
      <span className="grid size-7 place-items-center rounded-md bg-zinc-900 text-white" aria-hidden="true">
        <svg viewBox="0 0 24 24" className="size-4" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
          <path d="M12 3 4 6v6c0 4.5 3.4 8.2 8 9 4.6-.8 8-4.5 8-9V6l-8-3Z" />
          <path d="m9 12 2 2 4-4" />
        </svg>
      </span>
      <span className="font-semibold tracking-tight text-zinc-900">CertFleet</span>
    </Link>
  );
}

export function AppShell({ actor, children }: { actor: { label: string; role: Role }; children: ReactNode }) {
  const canImport = can(actor.role, "devices:write");
  return (
    <ToastProvider>
      <a href="#main" className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-md focus:bg-white focus:px-3 focus:py-2 focus:shadow">
        Skip to content
      </a>
      <div className="flex min-h-screen">
        <aside className="sticky top-0 hidden h-screen w-56 shrink-0 flex-col border-r border-zinc-200 bg-white md:flex">
          <div className="flex h-14 items-center px-4">
            <Logo />
          </div>
          <nav aria-label="Main" className="flex-1 overflow-y-auto px-2 py-2">
            <NavLinks canImport={canImport} />
          </nav>
          <div className="border-t border-zinc-200 p-3">
            <div className="flex items-center gap-2">
              <span className="grid size-7 shrink-0 place-items-center rounded-full bg-zinc-100 text-xs font-semibold text-zinc-600 uppercase" aria-hidden="true">
                {actor.label.slice(0, 2)}
              </span>
              <div className="min-w-0 text-xs">
                <div className="truncate font-medium text-zinc-800" data-testid="who">{actor.label}</div>
                <div className="text-zinc-500 capitalize" data-testid="role">{actor.role}</div>
              </div>
            </div>
            <SignOutButton />
          </div>
        </aside>
        <div className="flex min-w-0 flex-1 flex-col">
          <header className="flex h-14 items-center justify-between gap-3 border-b border-zinc-200 bg-white px-4 md:hidden">
            <Logo />
            <SignOutButton />
          </header>
          <nav aria-label="Main (compact)" className="overflow-x-auto border-b border-zinc-200 bg-white px-2 py-1.5 md:hidden">
            <NavLinks orientation="horizontal" canImport={canImport} />
          </nav>
          <main id="main" className="mx-auto w-full max-w-[1400px] min-w-0 flex-1 px-4 py-6 md:px-8">
            {children}
          </main>
        </div>
      </div>
    </ToastProvider>
  );
}
