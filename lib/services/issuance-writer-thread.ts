// The SQLite issuance writer's thread: owns one connection and commits the batches the main
// thread posts (issuance-store.ts). SQLite's work — statements, and the fsync of every commit —
// then runs on another core while the main thread verifies CSRs and signs the next certificates.
// Messages: { id, batch, now } in; { id } or { id, error: { code, message } } out.
import { parentPort, workerData } from "node:worker_threads";
import { openSqlite } from "../sqlite";
import { writeSqliteBatch, type IssuedItem } from "./issuance-sqlite";

const conn = openSqlite((workerData as { path: string }).path);

parentPort!.on("message", ({ id, batch, now }: { id: number; batch: IssuedItem[]; now: Date }) => {
  try {
    writeSqliteBatch(conn, batch, now);
    parentPort!.postMessage({ id });
  } catch (e) {
    const err = e as { code?: unknown; message?: string };
    parentPort!.postMessage({ id, error: { code: String(err.code ?? "INTERNAL"), message: err.message ?? String(e) } });
  }
});
