// Keyset pagination cursors, one format for every list (devices in the dashboard and REST,
// certificates in REST): base64url JSON { p, k, id } — the sort key k (ISO time or text) of the
// last row, its id as the tie-breaker, and p = 1 once a walk has passed the rows whose sort key is
// null (they come last). Opaque to clients; a malformed one is a 422, never a scan from the start.
import { AppError } from "../errors";

export interface Cursor {
  p: 0 | 1;
  k: string | null;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

/** The cursor of a row: its sort key (a Date as ISO text) and id. */
export function cursorOf(key: string | Date | null, id: string): Cursor {
  if (key === null) return { p: 1, k: null, id };
  return { p: 0, k: key instanceof Date ? key.toISOString() : key, id };
}

export function decodeCursor(raw: string): Cursor {
  try {
    const text = Buffer.from(raw, "base64url").toString("utf8");
    // Certificates' first cursors were "<ISO time>|<id>": still accepted.
    const legacy = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|([A-Za-z0-9_-]+)$/.exec(text);
    if (legacy) return { p: 0, k: legacy[1], id: legacy[2] };
    const v = JSON.parse(text);
    if (typeof v?.id !== "string" || !(v.k === null || typeof v.k === "string")) throw new Error("not a cursor");
    if (v.p === 0 || v.p === 1) return v;
    // The REST device list's first cursors ({ k, id }; k null once past the keyed rows).
    if (v.p === undefined) return { p: v.k === null ? 1 : 0, k: v.k, id: v.id };
  } catch {
    /* fall through */
  }
  throw new AppError("VALIDATION", "Invalid cursor", [{ path: "cursor", message: "Invalid cursor" }]);
}

/** The cursor's sort key as a Date, for time-ordered lists (422 when it is not one). */
export function cursorTime(c: Cursor): Date {
  const at = new Date(c.k ?? "");
  if (Number.isNaN(at.getTime())) throw new AppError("VALIDATION", "Invalid cursor", [{ path: "cursor", message: "Invalid cursor" }]);
  return at;
}
