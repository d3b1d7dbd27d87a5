// A compact list of audit events (overview, device page).
import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { formatDateTime, relativeTime } from "@/components/ui/format";
import { auditLabel, auditSubject, auditTone, parseDetails } from "./audit-format";

export interface AuditEventRow {
  seq: number;
  at: Date;
  actorLabel: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: string;
}

export function AuditList({ events, now, showTarget = true, names = {} }: { events: AuditEventRow[]; now: Date; showTarget?: boolean; names?: Record<string, string> }) {
  return (
    <ol className="divide-y divide-zinc-100">
      {events.map((e) => {
        const details = parseDetails(e.details);
        const subject = auditSubject(details, e.targetType === "device" && e.targetId ? names[e.targetId] : undefined);
        const serial = typeof details.serial === "string" ? details.serial : null;
        return (
          <li key={e.seq} className="flex items-start gap-3 px-4 py-2.5 text-sm">
            <Badge tone={auditTone(e.action)} className="mt-0.5 shrink-0">{auditLabel(e.action)}</Badge>
            <div className="min-w-0 flex-1">
              <div className="truncate text-zinc-800">
                {showTarget && subject && e.targetType === "device" && e.targetId ? (
                  <Link href={`/devices/${e.targetId}`} className="font-medium hover:underline">{subject}</Link>
                ) : showTarget && subject ? (
                  <span className="font-medium">{subject}</span>
                ) : null}
                {serial && subject !== serial && <span className="ml-1.5 font-mono text-xs text-zinc-500">{serial.slice(0, 16)}</span>}
              </div>
              <div className="text-xs text-zinc-500">by {e.actorLabel}</div>
            </div>
            <time dateTime={e.at.toISOString()} title={formatDateTime(e.at)} className="shrink-0 text-xs text-zinc-500 tabular-nums">
              {relativeTime(e.at, now)}
            </time>
          </li>
        );
      })}
    </ol>
  );
}
