"use client";
// Toasts: a provider near the root and useToast() anywhere below it. Announced politely to screen
// readers; errors stay until dismissed, the rest fade after a few seconds.
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";
import { CheckCircle2, CircleAlert, Info, X } from "lucide-react";
import { cn } from "./cn";

export type ToastTone = "success" | "error" | "info";
export interface ToastInput {
  title: string;
  description?: ReactNode;
  tone?: ToastTone;
}
interface ToastItem extends ToastInput {
  id: number;
}

const ToastContext = createContext<(t: ToastInput) => void>(() => undefined);

export function useToast() {
  return useContext(ToastContext);
}

const ICONS = { success: CheckCircle2, error: CircleAlert, info: Info };
const ICON_COLORS = { success: "text-emerald-600", error: "text-red-600", info: "text-sky-600" };

export function ToastProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<ToastItem[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setItems((all) => all.filter((t) => t.id !== id)), []);
  const push = useCallback(
    (t: ToastInput) => {
      const id = next.current++;
      setItems((all) => [...all.slice(-3), { ...t, id }]);
      if (t.tone !== "error") setTimeout(() => dismiss(id), 5000);
    },
    [dismiss],
  );
  const value = useMemo(() => push, [push]);
  return (
    <ToastContext.Provider value={value}>
      {children}
      <div aria-live="polite" role="region" aria-label="Notifications" className="pointer-events-none fixed right-4 bottom-4 z-50 flex w-[22rem] max-w-[calc(100vw-2rem)] flex-col gap-2">
        {items.map((t) => {
          const tone = t.tone ?? "info";
          const Icon = ICONS[tone];
          return (
            <div key={t.id} role={tone === "error" ? "alert" : "status"} data-testid="toast" className="pointer-events-auto flex items-start gap-3 rounded-lg border border-zinc-200 bg-white p-3 shadow-lg">
              <Icon className={cn("mt-0.5 size-4 shrink-0", ICON_COLORS[tone])} aria-hidden="true" />
              <div className="min-w-0 flex-1">
                <p className="text-sm font-medium text-zinc-900">{t.title}</p>
                {t.description && <div className="mt-0.5 text-xs break-words text-zinc-500">{t.description}</div>}
              </div>
              <button type="button" onClick={() => dismiss(t.id)} aria-label="Dismiss notification" className="rounded p-0.5 text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700">
                <X className="size-3.5" aria-hidden="true" />
              </button>
            </div>
          );
        })}
      </div>
    </ToastContext.Provider>
  );
}
