"use client";
// Step 2 of the import: the dry run's verdict. Counts, how the columns were read, the rows with
// problems or the rows to create, and the confirmation that starts the import.
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { formatNumber } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import type { ImportColumn } from "@/lib/validation/import";
import type { ParsedFile, ImportWizardState } from "./use-import-wizard";

/** Rows listed at once: the counts above tell the rest, and a 100,000-row table would stall the page. */
const SHOWN_ROWS = 200;

function columnLabel(c: ImportColumn): string {
  switch (c.kind) {
    case "name":
      return "name";
    case "externalId":
      return "external id";
    case "tags":
      return "tags";
    case "metadataJson":
      return "metadata (JSON)";
    case "metadata":
      return `metadata “${c.key}”`;
    default:
      return "ignored";
  }
}

export function PreviewStep({ wizard, parsed }: { wizard: ImportWizardState; parsed: ParsedFile }) {
  const { bad, good, options, runImport, reset } = wizard;
  const { withCredentials, algorithm } = options;
  const [view, setView] = useState<"errors" | "create">(bad.length ? "errors" : "create");
  const shown = (view === "errors" ? bad : good).slice(0, SHOWN_ROWS);
  return (
    <Card data-testid="import-preview">
      <CardHeader
        title={`2. Dry run: ${parsed.fileName}`}
        description="Nothing has been written yet."
        actions={
          <Button size="xs" variant="ghost" onClick={reset}>
            Choose another file
          </Button>
        }
      />
      <CardBody className="space-y-4">
        <dl className="grid grid-cols-3 gap-3">
          <div className="rounded-lg border border-zinc-200 p-3">
            <dt className="text-xs text-zinc-500">Rows</dt>
            <dd className="text-xl font-semibold tabular-nums">{formatNumber(parsed.results.length)}</dd>
          </div>
          <div className="rounded-lg border border-emerald-200 bg-emerald-50/50 p-3">
            <dt className="text-xs text-emerald-800">Will be created</dt>
            <dd className="text-xl font-semibold text-emerald-900 tabular-nums" data-testid="will-create">{formatNumber(good.length)}</dd>
          </div>
          <div className={cn("rounded-lg border p-3", bad.length ? "border-red-200 bg-red-50/50" : "border-zinc-200")}>
            <dt className={cn("text-xs", bad.length ? "text-red-800" : "text-zinc-500")}>Have errors (skipped)</dt>
            <dd className={cn("text-xl font-semibold tabular-nums", bad.length && "text-red-900")} data-testid="have-errors">{formatNumber(bad.length)}</dd>
          </div>
        </dl>
        <div className="text-xs text-zinc-600">
          <span className="font-medium text-zinc-800">Columns: </span>
          {parsed.header.map((h, i) => (
            <span key={i} className="mr-2 inline-block">
              <span className="font-mono">{h || "(empty)"}</span> → {columnLabel(parsed.columns[i])}
            </span>
          ))}
        </div>

        <div role="tablist" aria-label="Rows" className="inline-flex rounded-lg border border-zinc-200 bg-zinc-50 p-0.5 text-sm">
          {(
            [
              ["errors", `Errors (${formatNumber(bad.length)})`],
              ["create", `To create (${formatNumber(good.length)})`],
            ] as const
          ).map(([value, label]) => (
            <button key={value} type="button" role="tab" aria-selected={view === value} onClick={() => setView(value)} className={cn("rounded-md px-3 py-1", view === value ? "bg-white font-medium shadow-xs" : "text-zinc-600 hover:text-zinc-900")}>
              {label}
            </button>
          ))}
        </div>
        <div className="max-h-96 overflow-auto rounded-lg border border-zinc-200" role="tabpanel">
          {shown.length ? (
            <table className="w-full text-sm" data-testid={view === "errors" ? "error-rows" : "create-rows"}>
              <thead className="sticky top-0 border-b border-zinc-200 bg-zinc-50 text-left text-xs text-zinc-500">
                <tr>
                  <th scope="col" className="px-3 py-2 font-medium">Line</th>
                  <th scope="col" className="px-3 py-2 font-medium">Name</th>
                  <th scope="col" className="px-3 py-2 font-medium">External id</th>
                  <th scope="col" className="px-3 py-2 font-medium">Tags</th>
                  <th scope="col" className="px-3 py-2 font-medium">{view === "errors" ? "Problems" : "Metadata"}</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => (
                  <tr key={r.line} className="border-b border-zinc-100 last:border-0" data-line={r.line}>
                    <td className="px-3 py-1.5 text-xs text-zinc-500 tabular-nums">{r.line}</td>
                    <td className="px-3 py-1.5 font-medium text-zinc-900">{r.name || <span className="text-zinc-500">(empty)</span>}</td>
                    <td className="px-3 py-1.5 text-zinc-700">{r.externalId ?? ""}</td>
                    <td className="px-3 py-1.5 text-xs text-zinc-700">{r.tags.join(", ")}</td>
                    <td className="px-3 py-1.5 text-xs">
                      {view === "errors" ? (
                        <ul className="space-y-0.5 text-red-700">
                          {r.errors.map((e, i) => (
                            <li key={i}><span className="font-medium">{e.field}:</span> {e.message}</li>
                          ))}
                        </ul>
                      ) : (
                        <span className="text-zinc-600">{Object.entries(r.metadata).map(([k, v]) => `${k}=${v}`).join(", ")}</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="px-3 py-6 text-center text-sm text-zinc-500">{view === "errors" ? "No problems found." : "No row can be created."}</p>
          )}
        </div>
        {(view === "errors" ? bad : good).length > shown.length && <p className="text-xs text-zinc-500">Showing the first {shown.length} of {formatNumber((view === "errors" ? bad : good).length)}.</p>}

        <div className="flex flex-wrap items-center justify-between gap-3 border-t border-zinc-100 pt-4">
          <p className="text-sm text-zinc-600">
            {good.length ? (
              <>
                Creates <strong className="text-zinc-900">{formatNumber(good.length)}</strong> device{good.length === 1 ? "" : "s"}
                {withCredentials ? <> and issues each a certificate with a new {algorithm} key</> : null}
                {bad.length ? <>; the {formatNumber(bad.length)} row{bad.length === 1 ? "" : "s"} with errors are skipped</> : null}.
              </>
            ) : (
              "Fix the file and choose it again."
            )}
          </p>
          <Button onClick={runImport} disabled={!good.length} data-testid="confirm-import">
            Import {formatNumber(good.length)} device{good.length === 1 ? "" : "s"}
          </Button>
        </div>
      </CardBody>
    </Card>
  );
}
