// CSV device import: parsing (RFC 4180) and per-row validation. Pure, so the browser previews a
// file instantly and the server re-checks exactly the same way before it writes anything.
import Papa from "papaparse";
import { z } from "zod";
import { ZNewDevice } from "./devices";
import { KEY_ALGORITHMS } from "../pki/algorithms";

export const MAX_IMPORT_ROWS = 100_000;
/** Rows per server call: a dry-run chunk stays far below the server-action body limit (1 MB). */
export const IMPORT_CHUNK_ROWS = 500;
/** With generated credentials each row costs a key pair and a signature: smaller chunks keep progress moving. */
export const IMPORT_CREDENTIAL_CHUNK_ROWS = 100;

/**
 * Parses CSV text (RFC 4180: quoted fields, "" escapes, newlines inside quotes, CRLF or LF, an
 * optional BOM). The delimiter is fixed to a comma: Papa Parse would otherwise guess one, and a
 * file of "a;b" tags would be split on semicolons. Blank lines are skipped; rows are numbered by
 * the caller in the order returned. Malformed quoting is not refused here: the row checks that
 * follow report whatever it produced, as they do for any other bad cell.
 */
export function parseCsv(text: string): string[][] {
  const { data } = Papa.parse<string[]>(text, { delimiter: ",", quoteChar: '"', escapeChar: '"', header: false, dynamicTyping: false });
  return data.filter((row) => row.length > 1 || row[0].trim() !== "");
}

export type ImportColumn = { kind: "name" } | { kind: "externalId" } | { kind: "tags" } | { kind: "metadataJson" } | { kind: "metadata"; key: string } | { kind: "ignore" };

const ALIASES: Record<string, ImportColumn["kind"]> = {
  name: "name",
  devicename: "name",
  device: "name",
  externalid: "externalId",
  extid: "externalId",
  tags: "tags",
  tag: "tags",
  metadata: "metadataJson",
};

/** Columns: name, external id, tags (separated by ; or |) — every other column is a metadata key. */
export function mapHeader(header: string[]): { columns: ImportColumn[]; errors: string[] } {
  const errors: string[] = [];
  const seen = new Set<string>();
  const columns = header.map((raw): ImportColumn => {
    const h = raw.trim();
    const norm = h.toLowerCase().replace(/[\s_.-]/g, "");
    const kind = ALIASES[norm];
    const id = kind ?? `meta:${h.replace(/^metadata[.:]/i, "")}`;
    if (!h) return { kind: "ignore" };
    if (seen.has(id)) errors.push(`Column "${h}" appears twice`);
    seen.add(id);
    if (kind) return { kind } as ImportColumn;
    return { kind: "metadata", key: h.replace(/^metadata[.:]/i, "").slice(0, 64) };
  });
  if (!columns.some((c) => c.kind === "name")) errors.push('The header needs a "name" column');
  return { columns, errors };
}

export interface ImportRowResult {
  /** 1-based line in the file (the header is line 1). */
  line: number;
  name: string;
  externalId?: string;
  tags: string[];
  metadata: Record<string, string | number | boolean | null>;
  errors: { field: string; message: string }[];
}

const FIELD_LABELS: Record<string, string> = { name: "name", externalId: "external id", tags: "tags", metadata: "metadata" };

/** Validates one row against the same schema as the API's device creation. */
export function validateImportRow(columns: ImportColumn[], cells: string[], line: number): ImportRowResult {
  const raw: { name?: string; externalId?: string; tags?: string[]; metadata: Record<string, string | number | boolean | null> } = { metadata: {} };
  const errors: ImportRowResult["errors"] = [];
  if (cells.length > columns.length) errors.push({ field: "row", message: `${cells.length} cells but ${columns.length} columns` });
  columns.forEach((col, i) => {
    const value = (cells[i] ?? "").trim();
    if (col.kind === "name") raw.name = value;
    else if (col.kind === "externalId") raw.externalId = value || undefined;
    else if (col.kind === "tags") raw.tags = value ? value.split(/[;|]/).map((t) => t.trim()).filter(Boolean) : [];
    else if (col.kind === "metadataJson" && value) {
      try {
        const parsed = JSON.parse(value);
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
        Object.assign(raw.metadata, parsed);
      } catch {
        errors.push({ field: "metadata", message: "metadata must be a JSON object" });
      }
    } else if (col.kind === "metadata" && value) raw.metadata[col.key] = value;
  });
  const parsed = ZNewDevice.safeParse({ ...raw, metadata: Object.keys(raw.metadata).length ? raw.metadata : undefined });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? "row");
      errors.push({ field: FIELD_LABELS[field] ?? field, message: issue.path.length > 1 ? `${issue.path.slice(1).join(".")}: ${issue.message}` : issue.message });
    }
  }
  const ok = parsed.success ? parsed.data : null;
  return {
    line,
    name: ok?.name ?? raw.name ?? "",
    externalId: ok?.externalId ?? raw.externalId,
    tags: ok?.tags ?? raw.tags ?? [],
    metadata: (ok?.metadata as ImportRowResult["metadata"]) ?? raw.metadata,
    errors,
  };
}

/** Marks the second and later rows that repeat a name or an external id within the file. */
export function markDuplicates(rows: ImportRowResult[]): void {
  const names = new Map<string, number>();
  const ext = new Map<string, number>();
  for (const r of rows) {
    if (r.name) {
      const first = names.get(r.name);
      if (first !== undefined) r.errors.push({ field: "name", message: `Duplicate of line ${first} in this file` });
      else names.set(r.name, r.line);
    }
    if (r.externalId) {
      const first = ext.get(r.externalId);
      if (first !== undefined) r.errors.push({ field: "external id", message: `Duplicate of line ${first} in this file` });
      else ext.set(r.externalId, r.line);
    }
  }
}

/** What the browser sends per chunk: the header and raw cells, re-validated on the server. */
export const ZImportChunk = z.object({
  header: z.array(z.string().max(200)).min(1).max(100),
  rows: z
    .array(z.object({ line: z.number().int().min(2), cells: z.array(z.string().max(8192)).max(100) }))
    .min(1)
    .max(IMPORT_CHUNK_ROWS),
  /** Issue a certificate with a server-generated key for each created device (returned once). */
  credentials: z.object({ algorithm: z.enum(KEY_ALGORITHMS).default("EC-P256") }).strict().optional(),
});
export type TImportChunk = z.infer<typeof ZImportChunk>;
