"use client";
// URL-driven inventory state: every filter, sort and page is a search param (shareable links).
// Navigation runs in a transition so the current rows stay visible, dimmed, until the new ones arrive.
import { createContext, useCallback, useContext, useMemo, useTransition, type ReactNode } from "react";
import { usePathname, useRouter, useSearchParams } from "next/navigation";

interface InventoryNav {
  pending: boolean;
  /** Applies changes to the current params; filter changes reset pagination unless `keepPage`. */
  update: (changes: Record<string, string | null | undefined>, opts?: { keepPage?: boolean }) => void;
  params: URLSearchParams;
}

const Ctx = createContext<InventoryNav | null>(null);

export function InventoryNavProvider({ children }: { children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const search = useSearchParams();
  const [pending, startTransition] = useTransition();
  const update = useCallback<InventoryNav["update"]>(
    (changes, opts) => {
      const next = new URLSearchParams(search.toString());
      for (const [k, v] of Object.entries(changes)) {
        if (v === null || v === undefined || v === "") next.delete(k);
        else next.set(k, v);
      }
      if (!opts?.keepPage) {
        next.delete("cursor");
        next.delete("before");
      }
      const qs = next.toString();
      startTransition(() => router.replace(qs ? `${pathname}?${qs}` : pathname, { scroll: false }));
    },
    [router, pathname, search],
  );
  const value = useMemo(() => ({ pending, update, params: new URLSearchParams(search.toString()) }), [pending, update, search]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useInventoryNav(): InventoryNav {
  const v = useContext(Ctx);
  if (!v) throw new Error("useInventoryNav outside InventoryNavProvider");
  return v;
}
