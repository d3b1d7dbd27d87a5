"use client";
import Link from "next/link";
import { useMemo, useState } from "react";
import { ArrowDown, ArrowUp, ChevronLeft, ChevronRight, Cpu, KeyRound, RefreshCw, ShieldX, X } from "lucide-react";
import { Button, buttonClasses } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { controlBase } from "@/components/ui/field";
import { formatDate, formatNumber, relativeTime } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import type { InventoryRow } from "@/lib/services/inventory";
import type { TInventoryFilter } from "@/lib/validation/inventory";
import { CertStateBadge, DeviceStatusBadge } from "../certificates/cert-state-badge";
import { BulkDialog, type BulkActions, type BulkTarget } from "./bulk-dialog";
import { useInventoryNav } from "./inventory-nav";

interface Props {
  items: InventoryRow[];
  nextCursor: string | null;
  prevCursor: string | null;
  total: number;
  filter: TInventoryFilter;
  filterText: string;
  filtered: boolean;
  canBulk: boolean;
  bulkActions: BulkActions;
  nowMs: number;
}

function SortHeader({ field, label, className }: { field: "name" | "expiry" | "created"; label: string; className?: string }) {
  const { params, update } = useInventoryNav();
  const sort = params.get("sort") ?? "name";
  const dir = params.get("dir") ?? "asc";
  const active = sort === field;
  const next = active && dir === "asc" ? "desc" : "asc";
  return (
    <th scope="col" aria-sort={active ? (dir === "asc" ? "ascending" : "descending") : "none"} className={cn("h-9 px-3 font-medium whitespace-nowrap", className)}>
      <button
        type="button"
        onClick={() => update({ sort: field === "name" ? null : field, dir: next === "asc" ? null : "desc" })}
        className={cn("-mx-1 inline-flex items-center gap-1 rounded px-1 hover:text-zinc-900", active && "text-zinc-900")}
      >
        {label}
        {active && (dir === "asc" ? <ArrowUp className="size-3" aria-hidden="true" /> : <ArrowDown className="size-3" aria-hidden="true" />)}
        <span className="sr-only">, sort {next === "asc" ? "ascending" : "descending"}</span>
      </button>
    </th>
  );
}

export function InventoryTable({ items, nextCursor, prevCursor, total, filter, filterText, filtered, canBulk, bulkActions, nowMs }: Props) {
  const { params, update, pending } = useInventoryNav();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const [bulk, setBulk] = useState<{ op: "renew" | "revoke"; target: BulkTarget } | null>(null);

  // A new page or filter starts a fresh selection (ids from another page would be invisible).
  const pageKey = items.map((d) => d.id).join(",");
  const [lastPageKey, setLastPageKey] = useState(pageKey);
  if (pageKey !== lastPageKey) {
    setLastPageKey(pageKey);
    setSelected(new Set());
    setAllMatching(false);
  }

  const allOnPage = items.length > 0 && items.every((d) => selected.has(d.id));
  const someOnPage = items.some((d) => selected.has(d.id));
  const selectedCount = allMatching ? total : selected.size;
  const totalText = formatNumber(total);

  const toggle = (id: string) => {
    setAllMatching(false);
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  };
  const togglePage = () => {
    setAllMatching(false);
    setSelected(allOnPage ? new Set() : new Set(items.map((d) => d.id)));
  };
  const target = useMemo<BulkTarget>(
    () =>
      allMatching
        ? { kind: "filter", filter, description: filterText, approx: total }
        : { kind: "ids", ids: [...selected], names: items.filter((d) => selected.has(d.id)).map((d) => d.name) },
    [allMatching, filter, filterText, total, selected, items],
  );
  const now = new Date(nowMs);

  if (items.length === 0 && !prevCursor) {
    return filtered ? (
      <EmptyState
        icon={<Cpu />}
        title="No devices match these filters"
        description={`Nothing matches ${filterText}.`}
        action={
          <Button variant="secondary" onClick={() => update({ q: null, status: null, cert: null, within: null, from: null, to: null, tag: null, ca: null, psk: null, est: null })}>
            Clear filters
          </Button>
        }
      />
    ) : (
      <EmptyState icon={<Cpu />} title="No devices yet" description="Create a device, import a CSV of your fleet, or provision devices through the REST API." action={<Link href="/devices/import" className={buttonClasses("primary")}>Import devices</Link>} />
    );
  }

  return (
    <div>
      {canBulk && (someOnPage || allMatching) && (
        <div className="flex flex-wrap items-center gap-2 border-b border-zinc-200 bg-zinc-50 px-3 py-2 text-sm" role="region" aria-label="Bulk actions">
          <span className="font-medium text-zinc-900" data-testid="selection-count">
            {allMatching ? `All ${totalText} matching selected` : `${formatNumber(selected.size)} selected`}
          </span>
          {allOnPage && !allMatching && (total > items.length || nextCursor) && (
            <button type="button" onClick={() => setAllMatching(true)} className="text-zinc-700 underline underline-offset-2 hover:text-zinc-900">
              Select all {totalText} matching devices
            </button>
          )}
          <div className="ml-auto flex items-center gap-2">
            <Button size="xs" variant="secondary" onClick={() => setBulk({ op: "renew", target })}>
              <RefreshCw aria-hidden="true" /> Renew {formatNumber(selectedCount)}
            </Button>
            <Button size="xs" variant="outline-destructive" onClick={() => setBulk({ op: "revoke", target })}>
              <ShieldX aria-hidden="true" /> Revoke {formatNumber(selectedCount)}
            </Button>
            <Button
              size="xs"
              variant="ghost"
              onClick={() => {
                setSelected(new Set());
                setAllMatching(false);
              }}
            >
              <X aria-hidden="true" /> Clear
            </Button>
          </div>
        </div>
      )}

      <div className={cn("overflow-x-auto transition-opacity", pending && "pointer-events-none opacity-60")} aria-busy={pending}>
        <table className="w-full border-collapse text-sm" data-testid="inventory">
          <caption className="sr-only">Devices matching {filterText}</caption>
          <thead className="border-b border-zinc-200 bg-zinc-50/80 text-left text-xs text-zinc-500">
            <tr>
              {canBulk && (
                <th scope="col" className="h-9 w-10 px-3">
                  <input
                    type="checkbox"
                    aria-label="Select all devices on this page"
                    checked={allOnPage}
                    ref={(el) => {
                      if (el) el.indeterminate = someOnPage && !allOnPage;
                    }}
                    onChange={togglePage}
                    className="size-4 rounded border-zinc-300 accent-zinc-900"
                  />
                </th>
              )}
              <SortHeader field="name" label="Device" />
              <th scope="col" className="h-9 px-3 font-medium">Status</th>
              <th scope="col" className="h-9 px-3 font-medium">Certificate</th>
              <SortHeader field="expiry" label="Expires" />
              <th scope="col" className="h-9 px-3 font-medium">Serial</th>
              <th scope="col" className="h-9 px-3 font-medium">Tags</th>
              <th scope="col" className="h-9 px-3 font-medium">PSK</th>
              <SortHeader field="created" label="Created" className="hidden xl:table-cell" />
            </tr>
          </thead>
          <tbody>
            {items.map((d) => {
              const checked = allMatching || selected.has(d.id);
              return (
                <tr key={d.id} className={cn("border-b border-zinc-100 last:border-0 hover:bg-zinc-50/60", checked && "bg-zinc-50")} data-testid="device-row" data-name={d.name}>
                  {canBulk && (
                    <td className="w-10 px-3">
                      <input type="checkbox" aria-label={`Select ${d.name}`} checked={checked} onChange={() => toggle(d.id)} disabled={allMatching} className="size-4 rounded border-zinc-300 accent-zinc-900" />
                    </td>
                  )}
                  <td className="h-11 max-w-64 px-3">
                    <Link href={`/devices/${d.id}`} className="block truncate font-medium text-zinc-900 hover:underline">
                      {d.name}
                    </Link>
                    {d.externalId && <div className="truncate text-xs text-zinc-500">{d.externalId}</div>}
                  </td>
                  <td className="px-3"><DeviceStatusBadge status={d.status} /></td>
                  <td className="px-3" data-testid="cert-state"><CertStateBadge state={d.certState} /></td>
                  <td className="px-3 whitespace-nowrap tabular-nums">
                    {d.certificate ? (
                      <>
                        <div className="text-zinc-800" data-testid="expires">{formatDate(d.certificate.notAfter)}</div>
                        <div className={cn("text-xs", d.certState === "expired" ? "text-red-600" : d.certState === "expiring" ? "text-amber-700" : "text-zinc-500")}>
                          {d.certState === "revoked" ? "revoked" : relativeTime(d.certificate.notAfter, now)}
                        </div>
                      </>
                    ) : (
                      <span className="text-zinc-500">—</span>
                    )}
                  </td>
                  <td className="max-w-36 truncate px-3 font-mono text-xs text-zinc-600" title={d.certificate?.serialHex}>
                    {d.certificate ? d.certificate.serialHex.slice(0, 16) : "—"}
                  </td>
                  <td className="px-3">
                    <div className="flex max-w-56 flex-wrap gap-1">
                      {d.tags.slice(0, 3).map((t) => (
                        <button key={t} type="button" onClick={() => update({ tag: t })} title={`Only devices tagged ${t}`} className="rounded bg-zinc-100 px-1.5 py-0.5 text-xs text-zinc-700 hover:bg-zinc-200">
                          {t}
                        </button>
                      ))}
                      {d.tags.length > 3 && <span className="px-1 text-xs text-zinc-500">+{d.tags.length - 3}</span>}
                    </div>
                  </td>
                  <td className="px-3">
                    {d.hasPsk ? <KeyRound className="size-4 text-sky-600" aria-label="Has a PSK" /> : <span className="text-zinc-500" aria-label="No PSK">—</span>}
                  </td>
                  <td className="hidden px-3 text-xs whitespace-nowrap text-zinc-500 tabular-nums xl:table-cell">{formatDate(d.createdAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <div className="flex flex-wrap items-center justify-between gap-3 border-t border-zinc-200 px-3 py-2.5 text-sm text-zinc-600">
        <span data-testid="match-count">
          {totalText} device{total === 1 ? "" : "s"}
          {filtered && <span className="text-zinc-500"> matching</span>}
        </span>
        <div className="flex items-center gap-2">
          <label htmlFor="page-size" className="text-xs text-zinc-500">Rows</label>
          <select id="page-size" value={params.get("limit") ?? "50"} onChange={(e) => update({ limit: e.target.value === "50" ? null : e.target.value })} className={cn(controlBase, "h-8 w-auto pr-7")}>
            <option value="25">25</option>
            <option value="50">50</option>
            <option value="100">100</option>
          </select>
          <Button size="sm" variant="secondary" disabled={!prevCursor} onClick={() => update({ before: prevCursor, cursor: null }, { keepPage: true })} aria-label="Previous page">
            <ChevronLeft aria-hidden="true" /> Previous
          </Button>
          <Button size="sm" variant="secondary" disabled={!nextCursor} onClick={() => update({ cursor: nextCursor, before: null }, { keepPage: true })} aria-label="Next page">
            Next <ChevronRight aria-hidden="true" />
          </Button>
        </div>
      </div>

      {bulk && (
        <BulkDialog
          actions={bulkActions}
          op={bulk.op}
          target={bulk.target}
          onClose={() => setBulk(null)}
          onDone={() => {
            setSelected(new Set());
            setAllMatching(false);
          }}
        />
      )}
    </div>
  );
}
