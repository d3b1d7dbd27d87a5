"use server";
// Server actions for the CSV import: one chunk of rows per call (dry run or import).
import { revalidatePath } from "next/cache";
import { authorizedAction } from "@/lib/auth/action";
import { ZImportChunk } from "@/lib/validation/import";
import { importChunk, previewImportChunk } from "@/lib/services/import";

const slim = (rows: { line: number; errors: { field: string; message: string }[] }[]) => rows.filter((r) => r.errors.length).map((r) => ({ line: r.line, errors: r.errors }));

const preview = authorizedAction("devices:write", ZImportChunk, async (actor, chunk) => {
  const result = await previewImportChunk(actor, chunk);
  return { rejected: slim(result.rows) };
});
/** Dry run of one chunk: which rows would be rejected and why (nothing is written). */
export async function previewImportAction(prev: unknown, input: unknown) {
  return preview(prev, input);
}

const run = authorizedAction("devices:write", ZImportChunk, async (actor, chunk) => {
  const result = await importChunk(actor, chunk);
  revalidatePath("/devices");
  revalidatePath("/");
  return { created: result.created, rejected: slim(result.rows), credentials: result.credentials, chainPem: result.chainPem };
});
/** Imports one chunk; with `credentials` each created device's key and certificate come back once. */
export async function importChunkAction(prev: unknown, input: unknown) {
  return run(prev, input);
}
