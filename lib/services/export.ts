// CSV export of the (filtered) inventory, streamed page by page in name order so a million-row
// export never sits in memory. The columns read back with the CSV import (metadata as JSON).
import { db } from "../db";
import { authorize, type Actor } from "../auth/roles";
import { certStateOf, inventoryWhere } from "./inventory";
import type { Prisma } from "../generated/sqlite/client";
import type { TInventoryFilter } from "../validation/inventory";

const PAGE = 1000;
const include = { tags: { select: { tag: true }, orderBy: { tag: "asc" } } } as const;
type DeviceRow = Prisma.DeviceGetPayload<{ include: typeof include }>;

export const EXPORT_COLUMNS = ["name", "external_id", "status", "tags", "certificate_state", "serial", "not_after", "ca", "has_psk", "created_at", "metadata"] as const;

/**
 * Quotes a CSV cell; a cell a spreadsheet could run as a formula gets a leading apostrophe. Every
 * leading = + - @ TAB CR counts (OWASP CSV injection): "-2-2" or "-1+cmd|' /C calc'!A0" are
 * formulas too, and no exported column holds a negative number that the apostrophe would spoil.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export async function* exportInventoryCsv(actor: Actor, filter: TInventoryFilter): AsyncGenerator<string> {
  authorize(actor, "devices:read");
  const now = new Date();
  const where = await inventoryWhere(filter, now);
  const cas = new Map((await db().certificateAuthority.findMany({ select: { id: true, slug: true } })).map((c) => [c.id, c.slug]));
  yield `${EXPORT_COLUMNS.join(",")}\r\n`;
  let after: string | null = null;
  for (;;) {
    const devices: DeviceRow[] = await db().device.findMany({
      where: after === null ? where : { AND: [where, { name: { gt: after } }] },
      orderBy: { name: "asc" },
      take: PAGE,
      include,
    });
    if (devices.length === 0) return;
    const certIds = devices.map((d) => d.currentCertId).filter((id): id is string => !!id);
    const certs = new Map(
      (await db().certificate.findMany({ where: { id: { in: certIds } }, select: { id: true, serialHex: true, notAfter: true, caId: true } })).map((c) => [c.id, c]),
    );
    let chunk = "";
    for (const d of devices) {
      const c = d.currentCertId ? certs.get(d.currentCertId) : undefined;
      const cells = [
        d.name,
        d.externalId ?? "",
        d.status,
        d.tags.map((t) => t.tag).join(";"),
        certStateOf(d, now),
        c?.serialHex ?? "",
        c ? c.notAfter.toISOString() : "",
        c ? (cas.get(c.caId) ?? "") : "",
        d.hasPsk ? "yes" : "no",
        d.createdAt.toISOString(),
        d.metadata === "{}" ? "" : d.metadata,
      ];
      chunk += `${cells.map(csvCell).join(",")}\r\n`;
    }
    yield chunk;
    if (devices.length < PAGE) return;
    after = devices[devices.length - 1].name;
  }
}
