import { cn } from "./cn";

/** A determinate progress bar with an accessible name. */
export function Progress({ value, max, label, tone = "neutral", className }: { value: number; max: number; label: string; tone?: "neutral" | "red"; className?: string }) {
  const pct = max > 0 ? Math.min(100, Math.max(0, (value / max) * 100)) : 0;
  return (
    <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value} className={cn("h-2 w-full overflow-hidden rounded-full bg-zinc-100", className)}>
      <div className={cn("h-full rounded-full transition-[width] duration-300", tone === "red" ? "bg-red-500" : "bg-zinc-900")} style={{ width: `${pct}%` }} />
    </div>
  );
}
