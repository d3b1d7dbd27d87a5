"use client";
// The import's end: what was created, what the server rejected meanwhile, and the credentials
// archive, which exists only in this page's memory and is offered once.
import Link from "next/link";
import { CircleCheck, Download, TriangleAlert } from "lucide-react";
import { Button, buttonClasses } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Badge } from "@/components/ui/badge";
import { formatNumber } from "@/components/ui/format";
import type { ImportOutcome, ImportWizardState } from "./use-import-wizard";

export function DoneStep({ wizard, outcome }: { wizard: ImportWizardState; outcome: ImportOutcome }) {
  const { credentials, downloadArchive, reset } = wizard;
  return (
    <Card data-testid="import-done">
      <CardHeader title={outcome.stopped ? "Import stopped" : "Import finished"} />
      <CardBody className="space-y-4">
        <div className="flex items-start gap-3">
          <CircleCheck className="mt-0.5 size-5 text-emerald-600" aria-hidden="true" />
          <div className="text-sm">
            <p className="font-medium text-zinc-900" data-testid="imported-count">{formatNumber(outcome.created)} device{outcome.created === 1 ? "" : "s"} created.</p>
            {outcome.rejected.length > 0 && <p className="text-zinc-600">{formatNumber(outcome.rejected.length)} rejected by the server (taken meanwhile or invalid).</p>}
          </div>
        </div>
        {credentials && (
          <div className="flex flex-wrap items-center gap-3 rounded-lg border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
            <TriangleAlert className="size-4 shrink-0" aria-hidden="true" />
            <p className="min-w-0 flex-1">
              {formatNumber(credentials.items.length)} private keys are in this page&apos;s memory only. Download the archive now; it cannot be produced again.
            </p>
            <Button onClick={downloadArchive} data-testid="download-credentials">
              <Download aria-hidden="true" /> Download credentials (.zip)
            </Button>
          </div>
        )}
        {outcome.rejected.length > 0 && (
          <ul className="max-h-48 overflow-auto rounded-md border border-zinc-200 text-xs">
            {outcome.rejected.slice(0, 200).map((r) => (
              <li key={r.line} className="flex gap-3 border-b border-zinc-100 px-3 py-1.5 last:border-0">
                <span className="text-zinc-500 tabular-nums">line {r.line}</span>
                <span className="font-medium">{r.name}</span>
                <span className="text-red-700">{r.errors.map((e) => e.message).join("; ")}</span>
              </li>
            ))}
          </ul>
        )}
        <div className="flex flex-wrap gap-2">
          <Link href="/devices?sort=created&dir=desc" className={buttonClasses("primary")}>View devices</Link>
          <Button variant="secondary" onClick={reset}>Import another file</Button>
        </div>
        {outcome.created > 0 && <Badge tone="neutral">Each device has its own entry in the audit log.</Badge>}
      </CardBody>
    </Card>
  );
}
