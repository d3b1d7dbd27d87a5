import Link from "next/link";
import type { ReactNode } from "react";
import { ChevronRight } from "lucide-react";
import { cn } from "@/components/ui/cn";
import { formatNumber } from "@/components/ui/format";

const ACCENTS = {
  neutral: "bg-zinc-400",
  green: "bg-emerald-500",
  amber: "bg-amber-500",
  orange: "bg-orange-500",
  red: "bg-red-500",
  violet: "bg-violet-500",
  blue: "bg-sky-500",
};

/** One number that links to the inventory filtered to exactly the devices it counts. */
export function KpiCard({ id, label, value, href, hint, accent = "neutral" }: { id: string; label: string; value: number; href: string; hint?: ReactNode; accent?: keyof typeof ACCENTS }) {
  return (
    <Link
      href={href}
      data-testid={`kpi-${id}`}
      className="group relative flex flex-col rounded-xl border border-zinc-200 bg-white p-4 shadow-xs transition-colors hover:border-zinc-300 hover:bg-zinc-50/50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-zinc-900"
    >
      <span className="flex items-center gap-2 text-xs font-medium text-zinc-500">
        <span aria-hidden="true" className={cn("size-2 rounded-full", ACCENTS[accent])} />
        {label}
        <ChevronRight className="ml-auto size-3.5 text-zinc-300 transition-colors group-hover:text-zinc-500" aria-hidden="true" />
      </span>
      <span className="mt-2 text-2xl font-semibold tracking-tight text-zinc-900 tabular-nums" data-value={value}>
        {formatNumber(value)}
      </span>
      {hint && <span className="mt-0.5 text-xs text-zinc-500">{hint}</span>}
    </Link>
  );
}
