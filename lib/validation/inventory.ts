// The device inventory's query (the dashboard's URL state, the CSV export and bulk work share it).
import { z } from "zod";
import { DEVICE_STATUSES, EST_FILTERS } from "./devices";

/** State of a device's current certificate, derived from Device.certNotAfter/currentCertId/status. */
export const CERT_STATES = ["valid", "expired", "revoked", "none"] as const;
export type TCertState = (typeof CERT_STATES)[number];

export const INVENTORY_SORTS = ["name", "expiry", "created"] as const;
export const PAGE_SIZES = [25, 50, 100] as const;
/** Devices per bulk renew/revoke server call (small enough to show steady progress). */
export const BULK_CHUNK_SIZE = 25;

// Query strings carry "" for a cleared filter: treat it as absent.
const opt = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" || v === null ? undefined : v), schema.optional());
const ZDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Use YYYY-MM-DD");

export const ZInventoryFilter = z.object({
  q: opt(z.string().trim().max(200)),
  status: opt(z.enum(DEVICE_STATUSES)),
  cert: opt(z.enum(CERT_STATES)),
  /** Current certificate still valid and expiring within this many days. */
  within: opt(z.coerce.number().int().min(1).max(3650)),
  /** Current certificate expiring in [from, to) (UTC days; the overview chart's weeks). */
  from: opt(ZDay),
  to: opt(ZDay),
  tag: opt(z.string().trim().toLowerCase().max(64)),
  ca: opt(z.string().max(64)),
  psk: opt(z.enum(["yes", "no"])),
  /** EST: never enrolled over EST, or enrolled and so re-enrolling by itself. */
  est: opt(z.enum(EST_FILTERS)),
});
export type TInventoryFilter = z.infer<typeof ZInventoryFilter>;

export const ZInventoryQuery = ZInventoryFilter.extend({
  sort: z.preprocess((v) => (v === "" ? undefined : v), z.enum(INVENTORY_SORTS).default("name")),
  dir: z.preprocess((v) => (v === "" ? undefined : v), z.enum(["asc", "desc"]).default("asc")),
  /** Keyset cursors: `cursor` pages forward from a row, `before` backward. */
  cursor: opt(z.string().max(512)),
  before: opt(z.string().max(512)),
  limit: opt(z.coerce.number().int().min(10).max(200)).transform((v) => v ?? 50),
});
export type TInventoryQuery = z.infer<typeof ZInventoryQuery>;

/** Parses URL search params leniently: an invalid value is dropped instead of failing the page. */
export function parseInventoryQuery(raw: Record<string, string | string[] | undefined>): TInventoryQuery {
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === "string") flat[k] = v;
  // The REST API's name for the same filter, so links written for one work on the other.
  if (flat.expiringWithinDays && !flat.within) flat.within = flat.expiringWithinDays;
  const parsed = ZInventoryQuery.safeParse(flat);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) delete flat[String(issue.path[0])];
  return ZInventoryQuery.parse(flat);
}

/** The filter part of a query as URL params (drops defaults and empties). */
export function filterToParams(f: Partial<TInventoryFilter>): URLSearchParams {
  const p = new URLSearchParams();
  for (const key of ["q", "status", "cert", "within", "from", "to", "tag", "ca", "psk", "est"] as const) {
    const v = f[key];
    if (v !== undefined && v !== "") p.set(key, String(v));
  }
  return p;
}
