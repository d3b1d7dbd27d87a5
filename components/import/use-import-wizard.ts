"use client";
// The import's state and its work: parse and check the file in the browser, dry-run it on the
// server chunk by chunk, then import in chunks with progress. The phase components only render
// what this hook holds and call what it returns.
import { useRef, useState } from "react";
import { useRouter } from "next/navigation";
import { useToast } from "@/components/ui/toast";
import { downloadBlob } from "@/components/ui/download";
import { formatNumber } from "@/components/ui/format";
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
import { createCredentialsArchive, type IssuedCredential } from "./credentials-archive";

export type ImportPhase = "pick" | "checking" | "preview" | "importing" | "done";
export const IMPORT_ALGORITHMS = ["EC-P256", "EC-P384", "RSA-2048"] as const;
export type ImportAlgorithm = (typeof IMPORT_ALGORITHMS)[number];

type RejectedRow = { line: number; errors: { field: string; message: string }[] };
type Chunk = { header: string[]; rows: { line: number; cells: string[] }[]; credentials?: { algorithm: string } };

/** The import's two server actions, handed over by the import page. */
export interface ImportActions {
  preview: BoundAction<Chunk, { rejected: RejectedRow[] }>;
  importChunk: BoundAction<Chunk, { created: number; rejected: RejectedRow[]; credentials?: IssuedCredential[]; chainPem?: string }>;
}

export interface ParsedFile {
  fileName: string;
  header: string[];
  columns: ImportColumn[];
  rows: { line: number; cells: string[] }[];
  results: ImportRowResult[];
}

export interface ImportOutcome {
  created: number;
  rejected: ImportRowResult[];
  stopped: boolean;
}

const MAX_FILE_BYTES = 50 * 1024 * 1024;

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function useImportWizard(actions: ImportActions) {
  const router = useRouter();
  const toast = useToast();
  const stopRequested = useRef(false);
  const [phase, setPhase] = useState<ImportPhase>("pick");
  const [parsed, setParsed] = useState<ParsedFile | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const [progress, setProgress] = useState({ done: 0, total: 0 });
  const [withCredentials, setWithCredentials] = useState(false);
  const [algorithm, setAlgorithm] = useState<ImportAlgorithm>("EC-P256");
  const [outcome, setOutcome] = useState<ImportOutcome | null>(null);
  const [credentials, setCredentials] = useState<{ items: IssuedCredential[]; chainPem: string } | null>(null);

  const bad = parsed?.results.filter((r) => r.errors.length) ?? [];
  const good = parsed?.results.filter((r) => !r.errors.length) ?? [];

  async function load(file: File) {
    setFatal(null);
    setOutcome(null);
    setCredentials(null);
    if (file.size > MAX_FILE_BYTES) return setFatal("The file is larger than 50 MB.");
    const table = parseCsv(await file.text());
    if (table.length < 2) return setFatal("The file needs a header line and at least one device.");
    if (table.length - 1 > MAX_IMPORT_ROWS) return setFatal(`At most ${formatNumber(MAX_IMPORT_ROWS)} devices per file; this one has ${formatNumber(table.length - 1)}.`);
    const [header, ...body] = table;
    const { columns, errors } = mapHeader(header);
    if (errors.length) return setFatal(errors.join(". "));
    const rows = body.map((cells, i) => ({ line: i + 2, cells }));
    const results = rows.map((r) => validateImportRow(columns, r.cells, r.line));
    markDuplicates(results);
    const p: ParsedFile = { fileName: file.name, header, columns, rows, results };
    setParsed(p);
    await dryRun(p);
  }

  // The server's verdict (database conflicts and the same validation) is merged into the preview.
  async function dryRun(p: ParsedFile) {
    setPhase("checking");
    const byLine = new Map(p.results.map((r) => [r.line, r]));
    setProgress({ done: 0, total: p.rows.length });
    let done = 0;
    for (const part of chunk(p.rows, IMPORT_CHUNK_ROWS)) {
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
    setPhase("preview");
  }

  async function runImport() {
    if (!parsed) return;
    setPhase("importing");
    stopRequested.current = false;
    const goodLines = new Set(good.map((r) => r.line));
    const rows = parsed.rows.filter((r) => goodLines.has(r.line));
    const size = withCredentials ? IMPORT_CREDENTIAL_CHUNK_ROWS : IMPORT_CHUNK_ROWS;
    const rejected: ImportRowResult[] = [];
    const creds: IssuedCredential[] = [];
    let chainPem = "";
    let created = 0;
    let done = 0;
    setProgress({ done: 0, total: rows.length });
    const byLine = new Map(parsed.results.map((r) => [r.line, r]));
    for (const part of chunk(rows, size)) {
      if (stopRequested.current) break;
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
    setOutcome({ created, rejected, stopped: stopRequested.current || done < rows.length });
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

  return {
    phase,
    parsed,
    bad,
    good,
    fatal,
    progress,
    options: { withCredentials, setWithCredentials, algorithm, setAlgorithm },
    outcome,
    credentials,
    load,
    runImport,
    /** Ends the import after the chunk in flight; chunks already imported stay imported. */
    stop: () => void (stopRequested.current = true),
    downloadArchive,
    reset,
  };
}

export type ImportWizardState = ReturnType<typeof useImportWizard>;
