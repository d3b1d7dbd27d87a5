import Link from "next/link";
import type { Metadata } from "next";
import { ScrollText } from "lucide-react";
import { z } from "zod";
import { listAuditEvents } from "@/lib/services/audit";
import { deviceNames } from "@/lib/services/inventory";
import { PageHeader } from "@/components/ui/page-header";
import { Card } from "@/components/ui/card";
import { Badge } from "@/components/ui/badge";
import { EmptyState } from "@/components/ui/empty-state";
import { buttonClasses } from "@/components/ui/button";
import { controlBase } from "@/components/ui/field";
import { formatDateTime } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import { AUDIT_ACTION_GROUPS, auditLabel, auditSubject, auditTone, parseDetails } from "@/components/audit/audit-format";
import { VerifyChainButton } from "@/components/audit/verify-chain-button";
import { verifyAuditChainAction } from "./actions";
import { requireActor } from "../require-actor";

export const metadata: Metadata = { title: "Audit log" };

const PAGE = 100;
const opt = <T extends z.ZodType>(s: T) => z.preprocess((v) => (v === "" ? undefined : v), s.optional()).catch(undefined);
const ZAuditQuery = z.object({
  action: opt(z.string().max(64).regex(/^[a-z.-]+$/)),
  targetType: opt(z.enum(["device", "user", "token", "ca"])),
  targetId: opt(z.string().max(64).regex(/^[A-Za-z0-9_-]+$/)),
  before: opt(z.coerce.number().int().min(1)),
});

const TARGET_LINKS: Record<string, (id: string) => string> = { device: (id) => `/devices/${id}` };

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireActor();
  const query = ZAuditQuery.parse(await searchParams);
  const events = await listAuditEvents(actor, { ...query, limit: PAGE + 1 });
  const page = events.slice(0, PAGE);
  const older = events.length > PAGE ? page[page.length - 1].seq : null;
  const names = await deviceNames(actor, page.filter((e) => e.targetType === "device" && e.targetId).map((e) => e.targetId!));
  const filtered = !!(query.action || query.targetType || query.targetId);
  const params = (extra: Record<string, string | number | undefined>) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries({ action: query.action, targetType: query.targetType, targetId: query.targetId, ...extra })) if (v !== undefined && v !== "") p.set(k, String(v));
    return p.toString();
  };

  return (
    <>
      <PageHeader title="Audit log" description="Append-only and hash-chained: every change, by whom, and when. Verify the chain to prove nothing was edited or removed." actions={<VerifyChainButton verifyChain={verifyAuditChainAction} />} />

      <form method="get" className="mb-3 flex flex-wrap items-end gap-2" aria-label="Filter audit events">
        <div className="space-y-1">
          <label htmlFor="audit-action" className="text-xs font-medium text-zinc-700">Action</label>
          <select id="audit-action" name="action" defaultValue={query.action ?? ""} className={cn(controlBase, "h-8 w-auto pr-8")}>
            <option value="">All actions</option>
            {AUDIT_ACTION_GROUPS.map((g) => (
              <option key={g.value} value={g.value}>{g.label}</option>
            ))}
            <option value="certificate.revoke">Certificate revocations</option>
            <option value="psk.reveal">PSK reveals</option>
          </select>
        </div>
        <div className="space-y-1">
          <label htmlFor="audit-target-type" className="text-xs font-medium text-zinc-700">Target</label>
          <select id="audit-target-type" name="targetType" defaultValue={query.targetType ?? ""} className={cn(controlBase, "h-8 w-auto pr-8")}>
            <option value="">Any target</option>
            <option value="device">Device</option>
            <option value="user">User</option>
            <option value="token">API token</option>
            <option value="ca">CA</option>
          </select>
        </div>
        <div className="space-y-1">
          <label htmlFor="audit-target-id" className="text-xs font-medium text-zinc-700">Target id</label>
          <input id="audit-target-id" name="targetId" defaultValue={query.targetId ?? ""} placeholder="e.g. a device id" className={cn(controlBase, "h-8 w-56 font-mono")} autoComplete="off" />
        </div>
        <button type="submit" className={buttonClasses("secondary")}>Apply</button>
        {filtered && <Link href="/audit" className={buttonClasses("ghost")}>Clear</Link>}
      </form>

      <Card className="overflow-hidden">
        {page.length ? (
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="audit-table">
              <thead className="border-b border-zinc-200 bg-zinc-50/80 text-left text-xs text-zinc-500">
                <tr>
                  <th scope="col" className="h-9 px-3 text-right font-medium">#</th>
                  <th scope="col" className="h-9 px-3 font-medium">Time (UTC)</th>
                  <th scope="col" className="h-9 px-3 font-medium">Actor</th>
                  <th scope="col" className="h-9 px-3 font-medium">Action</th>
                  <th scope="col" className="h-9 px-3 font-medium">Target</th>
                  <th scope="col" className="h-9 px-3 font-medium">Details</th>
                </tr>
              </thead>
              <tbody>
                {page.map((e) => {
                  const details = parseDetails(e.details);
                  const subject = auditSubject(details, e.targetType === "device" && e.targetId ? names[e.targetId] : undefined);
                  const link = e.targetType && e.targetId ? TARGET_LINKS[e.targetType]?.(e.targetId) : undefined;
                  return (
                    <tr key={e.seq} className="border-b border-zinc-100 align-top last:border-0 hover:bg-zinc-50/60">
                      <td className="px-3 py-2 text-right font-mono text-xs text-zinc-500 tabular-nums">{e.seq}</td>
                      <td className="px-3 py-2 text-xs whitespace-nowrap text-zinc-600 tabular-nums">{formatDateTime(e.at).replace(" UTC", "")}</td>
                      <td className="max-w-48 truncate px-3 py-2 text-xs text-zinc-700" title={e.actor}>{e.actorLabel}</td>
                      <td className="px-3 py-2"><Badge tone={auditTone(e.action)}>{auditLabel(e.action)}</Badge></td>
                      <td className="max-w-56 px-3 py-2 text-xs">
                        {e.targetType ? (
                          <>
                            <span className="text-zinc-500">{e.targetType} </span>
                            {link ? <Link href={link} className="font-medium text-zinc-900 hover:underline">{subject ?? e.targetId}</Link> : <span className="font-medium text-zinc-800 break-all">{subject ?? e.targetId}</span>}
                            {typeof details.serial === "string" && details.serial !== subject && <div className="font-mono text-[11px] text-zinc-500">{details.serial}</div>}
                          </>
                        ) : (
                          <span className="text-zinc-500">—</span>
                        )}
                      </td>
                      <td className="px-3 py-2">
                        {Object.keys(details).length ? (
                          <details className="text-xs">
                            <summary className="cursor-pointer text-zinc-500 hover:text-zinc-900">{Object.keys(details).slice(0, 3).join(", ")}{Object.keys(details).length > 3 ? ", …" : ""}</summary>
                            <pre className="mt-1 max-w-xl overflow-x-auto rounded bg-zinc-50 p-2 font-mono text-[11px] text-zinc-700">{JSON.stringify(details, null, 2)}</pre>
                          </details>
                        ) : (
                          <span className="text-xs text-zinc-500">—</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : (
          <EmptyState icon={<ScrollText />} title={filtered ? "No events match these filters" : "No events yet"} action={filtered ? <Link href="/audit" className={buttonClasses("secondary")}>Clear filters</Link> : undefined} />
        )}
        {(older || query.before) && (
          <div className="flex justify-between border-t border-zinc-200 px-3 py-2.5 text-sm">
            {query.before ? <Link href={`/audit?${params({})}`} className={buttonClasses("secondary", "sm")}>Newest</Link> : <span />}
            {older && <Link href={`/audit?${params({ before: older })}`} className={buttonClasses("secondary", "sm")}>Older events</Link>}
          </div>
        )}
      </Card>
    </>
  );
}
