"use client";
// CSV onboarding: the file is parsed and checked in the browser at once, then dry-run on the
// server chunk by chunk (names already taken, the same validation again); the import runs only
// after an explicit confirmation, in chunks with progress. Generated credentials are collected in
// memory and handed out as one ZIP, once.
import Link from "next/link";
import { useRef, useState } from "react";
import { useRouter } from "next/navigation";
import { CircleCheck, Download, FileSpreadsheet, TriangleAlert, Upload } from "lucide-react";
import { Button, buttonClasses } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Progress } from "@/components/ui/progress";
import { Badge } from "@/components/ui/badge";
import { controlBase } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { downloadBlob } from "@/components/ui/download";
import { formatNumber } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import type { BoundAction } from "@/lib/auth/action";
import {
  IMPORT_CHUNK_ROWS,
  IMPORT_CREDENTIAL_CHUNK_ROWS,
  MAX_IMPORT_ROWS,
  mapHeader,
  markDuplicates,
  parseCsv,
  validateImportRow,
  type ImportColumn,
  type ImportRowResult,
} from "@/lib/validation/import";
import { createCredentialsArchive } from "./credentials-archive";

type RejectedRow = { line: number; errors: { field: string; message: string }[] };
type Chunk = { header: string[]; rows: { line: number; cells: string[] }[]; credentials?: { algorithm: string } };

/** The import's two server actions, handed over by the import page. */
export interface ImportActions {
  preview: BoundAction<Chunk, { rejected: RejectedRow[] }>;
  importChunk: BoundAction<Chunk, { created: number; rejected: RejectedRow[]; credentials?: Credential[]; chainPem?: string }>;
}

type Phase = "pick" | "checking" | "preview" | "importing" | "done";

interface Parsed {
  fileName: string;
  header: string[];
  columns: ImportColumn[];
  rows: { line: number; cells: string[] }[];
  results: ImportRowResult[];
}

interface Credential {
  name: string;
  certificatePem: string;
  privateKeyPem: string;
  serialHex: string;
}

const TEMPLATE = "name,external_id,tags,site,model\nsensor-berlin-0001,SN-0001,sensor;site:berlin,berlin,th-200\ngateway-lyon-0002,SN-0002,gateway;site:lyon,lyon,gw-10\n";
const ALGORITHMS = ["EC-P256", "EC-P384", "RSA-2048"] as const;

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

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

export function ImportWizard({ actions, canIssue }: { actions: ImportActions; canIssue: boolean }) {
  const router = useRouter();
  const toast = useToast();
  const fileRef = useRef<HTMLInputElement>(null);
  const stop = useRef(false);
  const [phase, setPhase] = useState<Phase>("pick");
  const [parsed, setParsed] = useState<Parsed | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const [progress, setProgress] = useState({ done: 0, total: 0 });
  const [withCredentials, setWithCredentials] = useState(false);
  const [algorithm, setAlgorithm] = useState<(typeof ALGORITHMS)[number]>("EC-P256");
  const [view, setView] = useState<"errors" | "create">("errors");
  const [outcome, setOutcome] = useState<{ created: number; rejected: ImportRowResult[]; stopped: boolean } | null>(null);
  const [credentials, setCredentials] = useState<{ items: Credential[]; chainPem: string } | null>(null);
  const [dragging, setDragging] = useState(false);

  const bad = parsed?.results.filter((r) => r.errors.length) ?? [];
  const good = parsed?.results.filter((r) => !r.errors.length) ?? [];

  async function load(file: File) {
    setFatal(null);
    setOutcome(null);
    setCredentials(null);
    if (file.size > 50 * 1024 * 1024) return setFatal("The file is larger than 50 MB.");
    const table = parseCsv(await file.text());
    if (table.length < 2) return setFatal("The file needs a header line and at least one device.");
    if (table.length - 1 > MAX_IMPORT_ROWS) return setFatal(`At most ${formatNumber(MAX_IMPORT_ROWS)} devices per file; this one has ${formatNumber(table.length - 1)}.`);
    const [header, ...body] = table;
    const { columns, errors } = mapHeader(header);
    if (errors.length) return setFatal(errors.join(". "));
    const rows = body.map((cells, i) => ({ line: i + 2, cells }));
    const results = rows.map((r) => validateImportRow(columns, r.cells, r.line));
    markDuplicates(results);
    const p: Parsed = { fileName: file.name, header, columns, rows, results };
    setParsed(p);
    await dryRun(p);
  }

  // The server's verdict (database conflicts and the same validation) is merged into the preview.
  async function dryRun(p: Parsed) {
    setPhase("checking");
    const byLine = new Map(p.results.map((r) => [r.line, r]));
    const parts = chunk(p.rows, IMPORT_CHUNK_ROWS);
    setProgress({ done: 0, total: p.rows.length });
    let done = 0;
    for (const part of parts) {
      const res = await actions.preview(null, { header: p.header, rows: part });
      if (!res?.ok) {
        setFatal(res?.error ?? "The dry run failed");
        setPhase("pick");
        return;
      }
      for (const rej of res.data.rejected) {
        const row = byLine.get(rej.line);
        if (!row) continue;
        for (const e of rej.errors) if (!row.errors.some((x) => x.message === e.message && x.field === e.field)) row.errors.push(e);
      }
      done += part.length;
      setProgress({ done, total: p.rows.length });
    }
    setParsed({ ...p, results: [...p.results] });
    setView(p.results.some((r) => r.errors.length) ? "errors" : "create");
    setPhase("preview");
  }

  async function runImport() {
    if (!parsed) return;
    setPhase("importing");
    stop.current = false;
    const goodLines = new Set(good.map((r) => r.line));
    const rows = parsed.rows.filter((r) => goodLines.has(r.line));
    const size = withCredentials ? IMPORT_CREDENTIAL_CHUNK_ROWS : IMPORT_CHUNK_ROWS;
    const rejected: ImportRowResult[] = [];
    const creds: Credential[] = [];
    let chainPem = "";
    let created = 0;
    let done = 0;
    setProgress({ done: 0, total: rows.length });
    const byLine = new Map(parsed.results.map((r) => [r.line, r]));
    for (const part of chunk(rows, size)) {
      if (stop.current) break;
      const res = await actions.importChunk(null, { header: parsed.header, rows: part, credentials: withCredentials ? { algorithm } : undefined });
      if (!res?.ok) {
        toast({ tone: "error", title: "Import stopped", description: res?.error });
        break;
      }
      created += res.data.created;
      for (const rej of res.data.rejected) {
        const row = byLine.get(rej.line);
        if (row) rejected.push({ ...row, errors: rej.errors });
      }
      if (res.data.credentials) creds.push(...res.data.credentials);
      if (res.data.chainPem) chainPem = res.data.chainPem;
      done += part.length;
      setProgress({ done, total: rows.length });
    }
    setOutcome({ created, rejected, stopped: stop.current || done < rows.length });
    if (creds.length) setCredentials({ items: creds, chainPem });
    setPhase("done");
    toast({ tone: rejected.length ? "info" : "success", title: `Imported ${formatNumber(created)} device${created === 1 ? "" : "s"}`, description: rejected.length ? `${formatNumber(rejected.length)} rows rejected.` : undefined });
    router.refresh();
  }

  function downloadArchive() {
    if (!credentials) return;
    downloadBlob(createCredentialsArchive(credentials.items, credentials.chainPem), `certfleet-credentials-${new Date().toISOString().slice(0, 10)}.zip`, "application/zip");
  }

  function reset() {
    setParsed(null);
    setOutcome(null);
    setCredentials(null);
    setFatal(null);
    setPhase("pick");
  }

  const shown = (view === "errors" ? bad : good).slice(0, 200);

  return (
    <div className="space-y-4">
      {(phase === "pick" || phase === "checking") && (
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
                ref={fileRef}
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
                  <input type="checkbox" checked={withCredentials} onChange={(e) => setWithCredentials(e.target.checked)} className="mt-0.5 accent-zinc-900" />
                  <span>
                    Issue a certificate with a server-generated key for each imported device
                    <span className="block text-xs text-zinc-500">The keys come back once, as a ZIP archive to download at the end. CertFleet does not keep them.</span>
                  </span>
                </label>
                {withCredentials && (
                  <div className="flex items-center gap-2 pl-6">
                    <label htmlFor="import-algorithm" className="text-xs text-zinc-600">Key algorithm</label>
                    <select id="import-algorithm" value={algorithm} onChange={(e) => setAlgorithm(e.target.value as (typeof ALGORITHMS)[number])} className={cn(controlBase, "h-8 w-auto pr-8")}>
                      {ALGORITHMS.map((a) => (
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
      )}

      {phase === "preview" && parsed && (
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
                        <td className="px-3 py-1.5 font-medium text-zinc-900">{r.name || <span className="text-zinc-400">(empty)</span>}</td>
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
      )}

      {phase === "importing" && (
        <Card>
          <CardHeader title="3. Importing…" description="Keep this page open. Already imported chunks stay imported if you stop." />
          <CardBody className="space-y-3" data-testid="import-progress">
            <div className="flex justify-between text-xs text-zinc-600 tabular-nums">
              <span>{withCredentials ? "Creating devices and issuing certificates" : "Creating devices"}</span>
              <span>{formatNumber(progress.done)} / {formatNumber(progress.total)}</span>
            </div>
            <Progress value={progress.done} max={progress.total} label="Import progress" />
            <Button variant="secondary" size="xs" onClick={() => (stop.current = true)}>Stop after this chunk</Button>
          </CardBody>
        </Card>
      )}

      {phase === "done" && outcome && (
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
      )}
    </div>
  );
}
