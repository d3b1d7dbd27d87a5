// Validity as a bar: how much of the certificate's lifetime has passed, with today marked.
import { cn } from "@/components/ui/cn";
import { formatDate, relativeTime } from "@/components/ui/format";

const DAY = 86_400_000;

export function ValidityBar({ notBefore, notAfter, now, revoked, compact }: { notBefore: Date; notAfter: Date; now: Date; revoked?: boolean; compact?: boolean }) {
  const total = notAfter.getTime() - notBefore.getTime();
  const elapsed = Math.min(Math.max(now.getTime() - notBefore.getTime(), 0), total);
  const pct = total > 0 ? (elapsed / total) * 100 : 100;
  const left = notAfter.getTime() - now.getTime();
  const expired = left <= 0;
  const color = revoked ? "bg-zinc-400" : expired ? "bg-red-500" : left <= 30 * DAY ? "bg-amber-500" : "bg-emerald-500";
  const label = revoked ? "Revoked" : expired ? `Expired ${relativeTime(notAfter, now)}` : `Expires ${relativeTime(notAfter, now)}`;
  return (
    <div className="space-y-1.5">
      <div
        role="meter"
        aria-label="Certificate lifetime used"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
        aria-valuetext={`${Math.round(pct)}% of the validity period used; ${label.toLowerCase()}`}
        className={cn("relative w-full overflow-hidden rounded-full bg-zinc-100", compact ? "h-1.5" : "h-2")}
      >
        <div className={cn("h-full rounded-full", color)} style={{ width: `${pct}%` }} />
      </div>
      {!compact && (
        <div className="flex justify-between gap-2 text-xs text-zinc-500 tabular-nums">
          <span>{formatDate(notBefore)}</span>
          <span className={cn("font-medium", revoked ? "text-zinc-600" : expired ? "text-red-600" : left <= 30 * DAY ? "text-amber-700" : "text-zinc-700")}>{label}</span>
          <span>{formatDate(notAfter)}</span>
        </div>
      )}
    </div>
  );
}
