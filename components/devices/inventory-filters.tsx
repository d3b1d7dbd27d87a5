"use client";
import { useEffect, useRef, useState } from "react";
import { Search, X } from "lucide-react";
import { Spinner } from "@/components/ui/button";
import { controlBase, controlClasses } from "@/components/ui/field";
import { cn } from "@/components/ui/cn";
import { useInventoryNav } from "./inventory-nav";

export interface FilterOptions {
  tags: string[];
  cas: { id: string; slug: string; name: string }[];
}

const CERT_OPTIONS = [
  { value: "", label: "Any certificate" },
  { value: "valid", label: "Valid" },
  { value: "within:7", label: "Expiring within 7 days" },
  { value: "within:30", label: "Expiring within 30 days" },
  { value: "within:90", label: "Expiring within 90 days" },
  { value: "expired", label: "Expired" },
  { value: "revoked", label: "Revoked" },
  { value: "none", label: "No certificate" },
];

function SelectFilter({ id, label, value, onChange, children, className }: { id: string; label: string; value: string; onChange: (v: string) => void; children: React.ReactNode; className?: string }) {
  return (
    <div className={className}>
      <label htmlFor={id} className="sr-only">{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} className={cn(controlBase, "h-8 w-auto pr-8", value && "border-zinc-400 bg-zinc-50 font-medium")}>
        {children}
      </select>
    </div>
  );
}

export function InventoryFilters({ options }: { options: FilterOptions }) {
  const { params, update, pending } = useInventoryNav();
  const q = params.get("q") ?? "";
  const [text, setText] = useState(q);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const lastSent = useRef(q);

  // Follow the URL when it changes from elsewhere (Clear, back button), not while typing.
  useEffect(() => {
    if (q !== lastSent.current) {
      lastSent.current = q;
      setText(q);
    }
  }, [q]);

  function onSearch(value: string) {
    setText(value);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      lastSent.current = value.trim();
      update({ q: value.trim() || null });
    }, 300);
  }

  const within = params.get("within");
  const certValue = within ? `within:${within}` : (params.get("cert") ?? "");
  const from = params.get("from");
  const to = params.get("to");
  const active = ["q", "status", "cert", "within", "from", "to", "tag", "ca", "psk", "est"].some((k) => params.get(k));

  return (
    <div className="flex flex-wrap items-center gap-2" role="search" aria-label="Filter devices">
      <div className="relative min-w-56 flex-1 sm:max-w-sm">
        <label htmlFor="device-search" className="sr-only">Search devices</label>
        <Search className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-zinc-400" aria-hidden="true" />
        <input
          id="device-search"
          type="search"
          value={text}
          onChange={(e) => onSearch(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              clearTimeout(timer.current);
              lastSent.current = text.trim();
              update({ q: text.trim() || null });
            }
          }}
          placeholder="Name or external id (starts with), serial, fingerprint, tag"
          autoComplete="off"
          spellCheck={false}
          className={cn(controlClasses, "h-8 pr-8 pl-8")}
        />
        {pending && <Spinner className="absolute top-1/2 right-2.5 size-4 -translate-y-1/2 text-zinc-400" />}
      </div>

      <SelectFilter
        id="filter-cert"
        label="Certificate"
        value={certValue}
        onChange={(v) => (v.startsWith("within:") ? update({ within: v.slice(7), cert: null, from: null, to: null }) : update({ cert: v || null, within: null }))}
      >
        {CERT_OPTIONS.map((o) => (
          <option key={o.value} value={o.value}>{o.label}</option>
        ))}
      </SelectFilter>

      <SelectFilter id="filter-status" label="Device status" value={params.get("status") ?? ""} onChange={(v) => update({ status: v || null })}>
        <option value="">Any status</option>
        <option value="active">Active</option>
        <option value="disabled">Disabled</option>
        <option value="decommissioned">Decommissioned</option>
      </SelectFilter>

      <SelectFilter id="filter-tag" label="Tag" value={params.get("tag") ?? ""} onChange={(v) => update({ tag: v || null })}>
        <option value="">Any tag</option>
        {options.tags.map((t) => (
          <option key={t} value={t}>{t}</option>
        ))}
        {params.get("tag") && !options.tags.includes(params.get("tag")!) && <option value={params.get("tag")!}>{params.get("tag")}</option>}
      </SelectFilter>

      {options.cas.length > 1 && (
        <SelectFilter id="filter-ca" label="Issuing CA" value={params.get("ca") ?? ""} onChange={(v) => update({ ca: v || null })}>
          <option value="">Any CA</option>
          {options.cas.map((c) => (
            <option key={c.id} value={c.slug}>{c.name}</option>
          ))}
        </SelectFilter>
      )}

      <SelectFilter id="filter-psk" label="PSK" value={params.get("psk") ?? ""} onChange={(v) => update({ psk: v || null })}>
        <option value="">PSK: any</option>
        <option value="yes">With PSK</option>
        <option value="no">Without PSK</option>
      </SelectFilter>

      <SelectFilter id="filter-est" label="EST enrollment" value={params.get("est") ?? ""} onChange={(v) => update({ est: v || null })}>
        <option value="">EST: any</option>
        <option value="never">Never enrolled</option>
        <option value="self">Re-enrolls itself</option>
      </SelectFilter>

      {(from || to) && (
        <span className="inline-flex h-8 items-center gap-1 rounded-md border border-zinc-300 bg-zinc-50 pr-1 pl-2.5 text-xs font-medium text-zinc-700">
          Expiring {from ?? "…"} → {to ?? "…"}
          <button type="button" onClick={() => update({ from: null, to: null })} aria-label="Remove expiry date range" className="rounded p-0.5 hover:bg-zinc-200">
            <X className="size-3.5" aria-hidden="true" />
          </button>
        </span>
      )}

      {active && (
        <button
          type="button"
          onClick={() => {
            setText("");
            lastSent.current = "";
            update({ q: null, status: null, cert: null, within: null, from: null, to: null, tag: null, ca: null, psk: null, est: null });
          }}
          className="h-8 rounded-md px-2 text-sm text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900"
        >
          Clear filters
        </button>
      )}
    </div>
  );
}
