"use client";
// Step 1 of the import: choose or drop a CSV file, optionally ask for generated credentials, and
// watch the dry run that starts as soon as the file is read.
import { useState } from "react";
import { Download, FileSpreadsheet, Upload } from "lucide-react";
import { Button, buttonClasses } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Progress } from "@/components/ui/progress";
import { controlBase } from "@/components/ui/field";
import { downloadBlob } from "@/components/ui/download";
import { formatNumber } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import { MAX_IMPORT_ROWS } from "@/lib/validation/import";
import { IMPORT_ALGORITHMS, type ImportAlgorithm, type ImportWizardState } from "./use-import-wizard";

const TEMPLATE = "name,external_id,tags,site,model\nsensor-berlin-0001,SN-0001,sensor;site:berlin,berlin,th-200\ngateway-lyon-0002,SN-0002,gateway;site:lyon,lyon,gw-10\n";

export function PickFileStep({ wizard, canIssue }: { wizard: ImportWizardState; canIssue: boolean }) {
  const { phase, parsed, fatal, progress, options, load } = wizard;
  const [dragging, setDragging] = useState(false);
  return (
    <Card>
      <CardHeader title="1. Choose a CSV file" description="One device per line. Columns: name (required), external_id, tags (separated by ; or |); every other column becomes metadata." actions={<Button size="xs" variant="ghost" onClick={() => downloadBlob(TEMPLATE, "certfleet-import-template.csv", "text/csv")}><Download aria-hidden="true" /> Template</Button>} />
      <CardBody className="space-y-4">
        <div
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            const f = e.dataTransfer.files[0];
            if (f) void load(f);
          }}
          className={cn("flex flex-col items-center justify-center rounded-lg border-2 border-dashed px-6 py-10 text-center transition-colors", dragging ? "border-zinc-500 bg-zinc-50" : "border-zinc-200")}
        >
          <FileSpreadsheet className="mb-2 size-8 text-zinc-400" aria-hidden="true" />
          <p className="text-sm text-zinc-700">Drop a .csv file here, or</p>
          <label htmlFor="csv-file" className={cn(buttonClasses("secondary"), "mt-2 cursor-pointer")}>
            <Upload aria-hidden="true" /> Choose file…
          </label>
          <input
            id="csv-file"
            type="file"
            accept=".csv,text/csv"
            className="sr-only"
            disabled={phase === "checking"}
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void load(f);
              e.target.value = "";
            }}
          />
          <p className="mt-2 text-xs text-zinc-500">Up to {formatNumber(MAX_IMPORT_ROWS)} devices. Nothing is written before you confirm.</p>
        </div>

        {canIssue && (
          <fieldset className="space-y-2 rounded-lg border border-zinc-200 p-3">
            <legend className="px-1 text-xs font-medium text-zinc-700">Credentials</legend>
            <label className="flex items-start gap-2 text-sm">
              <input type="checkbox" checked={options.withCredentials} onChange={(e) => options.setWithCredentials(e.target.checked)} className="mt-0.5 accent-zinc-900" />
              <span>
                Issue a certificate with a server-generated key for each imported device
                <span className="block text-xs text-zinc-500">The keys come back once, as a ZIP archive to download at the end. CertFleet does not keep them.</span>
              </span>
            </label>
            {options.withCredentials && (
              <div className="flex items-center gap-2 pl-6">
                <label htmlFor="import-algorithm" className="text-xs text-zinc-600">Key algorithm</label>
                <select id="import-algorithm" value={options.algorithm} onChange={(e) => options.setAlgorithm(e.target.value as ImportAlgorithm)} className={cn(controlBase, "h-8 w-auto pr-8")}>
                  {IMPORT_ALGORITHMS.map((a) => (
                    <option key={a} value={a}>{a}</option>
                  ))}
                </select>
              </div>
            )}
          </fieldset>
        )}

        {phase === "checking" && (
          <div className="space-y-1.5" data-testid="dry-run-progress">
            <div className="flex justify-between text-xs text-zinc-600 tabular-nums">
              <span>Dry run: checking {parsed?.fileName} against the fleet…</span>
              <span>{formatNumber(progress.done)} / {formatNumber(progress.total)}</span>
            </div>
            <Progress value={progress.done} max={progress.total} label="Dry run progress" />
          </div>
        )}
        {fatal && (
          <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700">
            {fatal}
          </p>
        )}
      </CardBody>
    </Card>
  );
}
