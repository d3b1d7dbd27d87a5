// The fleet overview: health counts and the expiry timeline, each an indexed count on the
// denormalised Device columns with the same predicates as the inventory filters they link to.
import { db } from "../db";
import { authorize, type Actor } from "../auth/roles";

const DAY = 86_400_000;
export const TIMELINE_WEEKS = 52;

export interface OverviewCounts {
  devices: number;
  activeDevices: number;
  disabledDevices: number;
  decommissionedDevices: number;
  /** Devices by the state of their current certificate (decommissioned devices count as revoked). */
  valid: number;
  expiring7: number;
  expiring30: number;
  expiring90: number;
  expired: number;
  revoked: number;
  noCertificate: number;
  /** Devices with a live PSK, and live PSK rows (overlap rotations add one per device). */
  devicesWithPsk: number;
  certificatesTotal: number;
}

export interface TimelineWeek {
  /** Start of the week (inclusive) and end (exclusive), as instants. */
  start: Date;
  end: Date;
  count: number;
}

export interface ExpiryTimeline {
  now: Date;
  pastDue: number;
  weeks: TimelineWeek[];
  /** Valid certificates expiring after the last week shown. */
  later: number;
}

/**
 * Decommissioned devices keep certNotAfter but their certificates are revoked, so they never count
 * as valid or expiring. Counting over the certNotAfter index alone is index-only (a few ms at
 * 100,000 devices) while adding `status <> 'decommissioned'` costs a table lookup per row; so count
 * the range, then subtract the (few) decommissioned devices that fall in it.
 */
async function decommissionedExpiries(): Promise<number[]> {
  const rows = await db().device.findMany({ where: { status: "decommissioned", certNotAfter: { not: null } }, select: { certNotAfter: true } });
  return rows.map((r) => r.certNotAfter!.getTime());
}

function countIn(times: number[], from: number | null, to: number | null, fromInclusive = false, toInclusive = true): number {
  return times.filter((t) => (from === null || (fromInclusive ? t >= from : t > from)) && (to === null || (toInclusive ? t <= to : t < to))).length;
}

export async function getOverviewCounts(actor: Actor, now = new Date()): Promise<OverviewCounts> {
  authorize(actor, "devices:read");
  const d = db().device;
  const n = now.getTime();
  const inDays = (days: number) => new Date(n + days * DAY);
  const decom = await decommissionedExpiries();
  const range = async (from: Date | null, to: Date | null, toInclusive = true) => {
    const raw = await d.count({ where: { certNotAfter: { ...(from ? { gt: from } : { not: null }), ...(to ? (toInclusive ? { lte: to } : { lt: to }) : {}) } } });
    return raw - countIn(decom, from?.getTime() ?? null, to?.getTime() ?? null, false, toInclusive);
  };
  const [devices, activeDevices, disabledDevices, decommissionedDevices, valid, expiring7, expiring30, expiring90, expired, revokedCurrent, decommissionedWithCert, noCertificate, devicesWithPsk, certificatesTotal] =
    await Promise.all([
      d.count(),
      d.count({ where: { status: "active" } }),
      d.count({ where: { status: "disabled" } }),
      d.count({ where: { status: "decommissioned" } }),
      range(now, null),
      range(now, inDays(7)),
      range(now, inDays(30)),
      range(now, inDays(90)),
      range(null, now),
      d.count({ where: { certNotAfter: null, currentCertId: { not: null } } }),
      d.count({ where: { status: "decommissioned", certNotAfter: { not: null }, currentCertId: { not: null } } }),
      d.count({ where: { currentCertId: null } }),
      d.count({ where: { hasPsk: true } }),
      db().certificate.count(),
    ]);
  return {
    devices,
    activeDevices,
    disabledDevices,
    decommissionedDevices,
    valid,
    expiring7,
    expiring30,
    expiring90,
    expired,
    revoked: revokedCurrent + decommissionedWithCert,
    noCertificate,
    devicesWithPsk,
    certificatesTotal,
  };
}

/**
 * Current certificates expiring per week, for TIMELINE_WEEKS weeks from today (UTC midnight), plus
 * the past due. Week boundaries are UTC days so each bar maps onto the inventory's from/to filter.
 */
export async function getExpiryTimeline(actor: Actor, now = new Date()): Promise<ExpiryTimeline> {
  authorize(actor, "devices:read");
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const weeks = Array.from({ length: TIMELINE_WEEKS }, (_, i) => ({ start: new Date(today.getTime() + i * 7 * DAY), end: new Date(today.getTime() + (i + 1) * 7 * DAY) }));
  const horizon = weeks[weeks.length - 1].end;
  const decom = await decommissionedExpiries();
  const n = now.getTime();
  const counts = await Promise.all([
    db().device.count({ where: { certNotAfter: { lte: now } } }).then((c) => c - countIn(decom, null, n)),
    // The first week starts at midnight, but what expired since then is past due: it starts at `now`.
    ...weeks.map((w, i) =>
      db()
        .device.count({ where: { certNotAfter: i === 0 ? { gt: now, lt: w.end } : { gte: w.start, lt: w.end } } })
        .then((c) => c - countIn(decom, i === 0 ? n : w.start.getTime(), w.end.getTime(), i !== 0, false)),
    ),
    db().device.count({ where: { certNotAfter: { gte: horizon } } }).then((c) => c - countIn(decom, horizon.getTime(), null, true)),
  ]);
  return {
    now,
    pastDue: counts[0],
    weeks: weeks.map((w, i) => ({ ...w, count: counts[i + 1] })),
    later: counts[counts.length - 1],
  };
}
