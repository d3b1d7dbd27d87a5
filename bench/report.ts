// The bench's table: rows added by every line (bench/run.ts and the files it calls), raw numbers
// for bench/results/latest.json, and number formatting.
export interface Row {
  area: string;
  test: string;
  certfleet: string;
  peer: string;
  ratio: string;
  target: string;
  met: "yes" | "no" | "—";
}

export const rows: Row[] = [];
export const raw: Record<string, unknown> = {};

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a");
export const log = (s: string) => console.error(s);

export function add(row: Row) {
  rows.push(row);
  log(`  ${row.area} | ${row.test} | ${row.certfleet} | peer ${row.peer} | ${row.ratio} | ${row.target} → ${row.met}`);
}
