"use client";
// Bulk renew/revoke: a confirmation that states exactly what will happen, then the work in chunks
// of BULK_CHUNK_SIZE (one server action per chunk) with a progress bar and a Stop button.
import { useEffect, useId, useRef, useState } from "react";
import { useRouter } from "next/navigation";
import { Dialog } from "@/components/ui/dialog";
import { Button } from "@/components/ui/button";
import { Progress } from "@/components/ui/progress";
import { controlClasses } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { formatNumber } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import type { BoundAction } from "@/lib/auth/action";
import type { TBulkOperation } from "@/lib/validation/bulk";
import type { TRevokeReason } from "@/lib/validation/certificates";
import { BULK_CHUNK_SIZE, type TInventoryFilter } from "@/lib/validation/inventory";
import type { BulkItemResult } from "@/lib/services/bulk";
import { REASON_HELP, REASON_LABELS, REVOKE_REASON_LIST } from "../certificates/revocation-reasons";

export type BulkTarget = { kind: "ids"; ids: string[]; names: string[] } | { kind: "filter"; filter: TInventoryFilter; description: string; approx: number };

/** The inventory's bulk actions, handed down from the devices page. */
export interface BulkActions {
  onDevices: BoundAction<{ operation: TBulkOperation; deviceIds: string[] }, BulkItemResult[]>;
  onFilter: BoundAction<{ operation: TBulkOperation; filter: TInventoryFilter; afterName: string | null }, { results: BulkItemResult[]; nextAfter: string | null }>;
  count: BoundAction<{ filter: TInventoryFilter }, number>;
}

type Phase = "confirm" | "running" | "finished";

export function BulkDialog({ actions, op, target, onClose, onDone }: { actions: BulkActions; op: "renew" | "revoke"; target: BulkTarget; onClose: () => void; onDone: () => void }) {
  const router = useRouter();
  const toast = useToast();
  const [phase, setPhase] = useState<Phase>("confirm");
  const [count, setCount] = useState<number | null>(target.kind === "ids" ? target.ids.length : null);
  const [reason, setReason] = useState<TRevokeReason | "">("");
  const [typed, setTyped] = useState("");
  const [results, setResults] = useState<BulkItemResult[]>([]);
  const [error, setError] = useState<string | null>(null);
  const stop = useRef(false);
  const reasonId = useId();
  const typedId = useId();

  // "All matching": the exact number, counted once when the confirmation opens.
  useEffect(() => {
    if (target.kind !== "filter") return;
    let live = true;
    actions.count(null, { filter: target.filter }).then((res) => {
      if (!live) return;
      if (res?.ok) setCount(res.data);
      else setError(res?.error ?? "Could not count the devices");
    });
    return () => {
      live = false;
    };
  }, [actions, target]);

  const total = count ?? 0;
  const confirmWord = `${op} ${total}`;
  const ready = count !== null && total > 0 && (op === "renew" || (reason !== "" && typed.trim().toLowerCase() === confirmWord));

  async function run() {
    const operation: TBulkOperation = op === "renew" ? { op: "renew" } : { op: "revoke", reason: reason as TRevokeReason };
    setPhase("running");
    stop.current = false;
    const all: BulkItemResult[] = [];
    try {
      if (target.kind === "ids") {
        for (let i = 0; i < target.ids.length && !stop.current; i += BULK_CHUNK_SIZE) {
          const res = await actions.onDevices(null, { operation, deviceIds: target.ids.slice(i, i + BULK_CHUNK_SIZE) });
          if (!res?.ok) throw new Error(res?.error ?? "The request failed");
          all.push(...res.data);
          setResults([...all]);
        }
      } else {
        let after: string | null = null;
        do {
          const res = await actions.onFilter(null, { operation, filter: target.filter, afterName: after });
          if (!res?.ok) throw new Error(res?.error ?? "The request failed");
          all.push(...res.data.results);
          setResults([...all]);
          after = res.data.nextAfter;
        } while (after !== null && !stop.current);
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
    setPhase("finished");
    const done = all.filter((r) => r.outcome === "done").length;
    const failed = all.filter((r) => r.outcome === "failed").length;
    toast({
      tone: failed ? "error" : "success",
      title: `${op === "renew" ? "Renewed" : "Revoked"} ${formatNumber(done)} certificate${done === 1 ? "" : "s"}`,
      description: `${formatNumber(all.length - done - failed)} skipped, ${formatNumber(failed)} failed${stop.current ? " (stopped)" : ""}`,
    });
    router.refresh();
  }

  const done = results.filter((r) => r.outcome === "done").length;
  const skipped = results.filter((r) => r.outcome === "skipped");
  const failed = results.filter((r) => r.outcome === "failed");
  const who = target.kind === "ids" ? (
    <>
      the {formatNumber(total)} selected device{total === 1 ? "" : "s"}
      {target.names.length > 0 && (
        <span className="text-zinc-500"> ({target.names.slice(0, 4).join(", ")}{target.names.length > 4 ? `, and ${target.names.length - 4} more` : ""})</span>
      )}
    </>
  ) : (
    <>
      all {count === null ? "…" : formatNumber(total)} devices matching <span className="font-medium">{target.description}</span>
    </>
  );

  const close = () => {
    if (phase === "finished") onDone();
    onClose();
  };

  return (
    <Dialog
      open
      onClose={close}
      busy={phase === "running"}
      size="lg"
      title={op === "renew" ? "Renew certificates" : "Revoke certificates"}
      footer={
        phase === "confirm" ? (
          <>
            <Button variant="secondary" onClick={close}>Cancel</Button>
            <Button variant={op === "revoke" ? "destructive" : "primary"} disabled={!ready} onClick={run} data-testid="bulk-confirm">
              {op === "renew" ? `Renew ${count === null ? "" : formatNumber(total)} certificates` : `Revoke ${count === null ? "" : formatNumber(total)} certificates`}
            </Button>
          </>
        ) : phase === "running" ? (
          <Button variant="secondary" onClick={() => (stop.current = true)}>Stop after this batch</Button>
        ) : (
          <Button onClick={close}>Close</Button>
        )
      }
    >
      {phase === "confirm" ? (
        <div className="space-y-4 text-sm text-zinc-700">
          {op === "renew" ? (
            <>
              <p>This renews the current certificate of {who}.</p>
              <ul className="list-disc space-y-1 pl-5 text-zinc-600">
                <li>Each device gets a new certificate for the <strong>same public key</strong>, valid as long as its current one, from now.</li>
                <li>The old certificate is marked superseded and stays valid until it expires, so devices keep connecting while the new one is deployed.</li>
                <li>Devices that are disabled or decommissioned, or whose certificate is revoked, are skipped.</li>
                <li>Each renewal is written to the audit log.</li>
              </ul>
            </>
          ) : (
            <>
              <p>This revokes the current certificate of {who}.</p>
              <ul className="list-disc space-y-1 pl-5 text-zinc-600">
                <li>The serials go on the CRL and OCSP answers <strong>revoked</strong>: brokers that check them refuse these devices at their next CRL refresh.</li>
                <li>Revocation cannot be undone (except for the reason “certificate hold”). Devices need a new certificate to connect again.</li>
                <li>Certificates already revoked are skipped; PSKs are not touched.</li>
              </ul>
              <div className="space-y-1">
                <label htmlFor={reasonId} className="text-xs font-medium text-zinc-700">Reason</label>
                <select id={reasonId} value={reason} onChange={(e) => setReason(e.target.value as TRevokeReason)} className={cn(controlClasses, "h-8")} required>
                  <option value="" disabled>Choose a reason…</option>
                  {REVOKE_REASON_LIST.map((r) => (
                    <option key={r} value={r}>{REASON_LABELS[r]}</option>
                  ))}
                </select>
                {reason && <p className="text-xs text-zinc-500">{REASON_HELP[reason]}</p>}
              </div>
              <div className="space-y-1">
                <label htmlFor={typedId} className="text-xs font-medium text-zinc-700">
                  Type <span className="font-mono font-semibold text-zinc-900">{confirmWord}</span> to confirm
                </label>
                <input id={typedId} value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} className={cn(controlClasses, "h-8 font-mono")} />
              </div>
            </>
          )}
          {count === 0 && <p className="rounded-md bg-zinc-50 px-3 py-2 text-zinc-600">No device matches: nothing to do.</p>}
          {error && <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-red-700">{error}</p>}
        </div>
      ) : (
        <div className="space-y-4 text-sm" data-testid="bulk-progress">
          <div className="space-y-1.5">
            <div className="flex justify-between text-xs text-zinc-600 tabular-nums">
              <span>{phase === "running" ? "Working…" : stop.current ? "Stopped" : "Finished"}</span>
              <span>
                {formatNumber(results.length)} / {formatNumber(Math.max(total, results.length))}
              </span>
            </div>
            <Progress value={results.length} max={Math.max(total, results.length)} label={`${op === "renew" ? "Renewing" : "Revoking"} certificates`} />
          </div>
          <dl className="grid grid-cols-3 gap-2 text-center">
            <div className="rounded-lg border border-zinc-200 p-2">
              <dt className="text-xs text-zinc-500">{op === "renew" ? "Renewed" : "Revoked"}</dt>
              <dd className="text-lg font-semibold tabular-nums" data-testid="bulk-done">{formatNumber(done)}</dd>
            </div>
            <div className="rounded-lg border border-zinc-200 p-2">
              <dt className="text-xs text-zinc-500">Skipped</dt>
              <dd className="text-lg font-semibold tabular-nums">{formatNumber(skipped.length)}</dd>
            </div>
            <div className="rounded-lg border border-zinc-200 p-2">
              <dt className="text-xs text-zinc-500">Failed</dt>
              <dd className={cn("text-lg font-semibold tabular-nums", failed.length && "text-red-600")}>{formatNumber(failed.length)}</dd>
            </div>
          </dl>
          {error && <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-red-700">{error}</p>}
          {(failed.length > 0 || skipped.length > 0) && phase === "finished" && (
            <div className="max-h-48 overflow-y-auto rounded-md border border-zinc-200">
              <ul className="divide-y divide-zinc-100 text-xs">
                {[...failed, ...skipped].slice(0, 100).map((r) => (
                  <li key={r.deviceId} className="flex justify-between gap-3 px-3 py-1.5">
                    <span className="font-medium text-zinc-800">{r.name}</span>
                    <span className={r.outcome === "failed" ? "text-red-600" : "text-zinc-500"}>{r.message}</span>
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
    </Dialog>
  );
}
