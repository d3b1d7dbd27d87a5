// Certificates expiring per week as an SVG bar chart (no chart library): the past due first, in
// red, then 52 weeks. Every bar is a keyboard-focusable link to the inventory for that week.
import { formatDate, formatNumber } from "@/components/ui/format";

export interface ChartWeek {
  start: Date;
  end: Date;
  count: number;
}

const W = 1000;
const H = 240;
const PAD = { top: 16, right: 8, bottom: 34, left: 44 };
const DAY = 86_400_000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A round axis maximum (1, 2, 2.5, 5 × 10^n) above `max`. */
function niceMax(max: number): number {
  if (max <= 4) return 4;
  const exp = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}

function dayParam(d: Date) {
  return d.toISOString().slice(0, 10);
}

export function ExpiryChart({ pastDue, weeks, now }: { pastDue: number; weeks: ChartWeek[]; now: Date }) {
  const slots = weeks.length + 1;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slotW = plotW / slots;
  const barW = Math.max(2, slotW * 0.7);
  const yMax = niceMax(Math.max(pastDue, ...weeks.map((w) => w.count), 1));
  const y = (v: number) => PAD.top + plotH - (v / yMax) * plotH;
  const ticks = [0, yMax / 2, yMax];
  const total = weeks.reduce((s, w) => s + w.count, 0);

  const bars = [
    {
      key: "past",
      count: pastDue,
      label: `${formatNumber(pastDue)} certificates past due (expired)`,
      href: "/devices?cert=expired&sort=expiry",
      fill: "fill-red-500 group-hover:fill-red-600",
    },
    ...weeks.map((w, i) => {
      const soon = w.start.getTime() - now.getTime() < 30 * DAY;
      return {
        key: dayParam(w.start),
        count: w.count,
        label: `${formatNumber(w.count)} certificates expiring in the week of ${formatDate(w.start)}${i === 0 ? " (from now)" : ""}`,
        href: `/devices?from=${dayParam(w.start)}&to=${dayParam(w.end)}&sort=expiry`,
        fill: soon ? "fill-amber-500 group-hover:fill-amber-600" : "fill-zinc-700 group-hover:fill-zinc-900",
      };
    }),
  ];

  // Month labels under the first week that starts in each month.
  const monthLabels: { x: number; text: string }[] = [];
  let lastMonth = -1;
  weeks.forEach((w, i) => {
    const m = w.start.getUTCMonth();
    if (m !== lastMonth) {
      if (i > 0) monthLabels.push({ x: PAD.left + (i + 1) * slotW, text: MONTHS[m] + (m === 0 ? ` ${w.start.getUTCFullYear()}` : "") });
      lastMonth = m;
    }
  });

  return (
    <figure className="w-full">
      <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full" aria-labelledby="expiry-chart-title expiry-chart-desc" data-testid="expiry-chart">
        <title id="expiry-chart-title">Certificates expiring per week</title>
        <desc id="expiry-chart-desc">
          {`${formatNumber(pastDue)} past due, ${formatNumber(total)} expiring in the next ${weeks.length} weeks.`}
        </desc>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="stroke-zinc-200" strokeDasharray={t === 0 ? undefined : "3 4"} />
            <text x={PAD.left - 8} y={y(t)} dy="0.32em" textAnchor="end" className="fill-zinc-400 text-[11px] tabular-nums">
              {formatNumber(t)}
            </text>
          </g>
        ))}
        {/* Today: between the past-due bar and the first week. */}
        <line x1={PAD.left + slotW} x2={PAD.left + slotW} y1={PAD.top - 6} y2={PAD.top + plotH} className="stroke-zinc-400" strokeDasharray="2 3" />
        <text x={PAD.left + slotW + 4} y={PAD.top - 4} className="fill-zinc-500 text-[11px]">today</text>
        {bars.map((b, i) => {
          const h = b.count === 0 ? 0 : Math.max(2, PAD.top + plotH - y(b.count));
          const x = PAD.left + i * slotW + (slotW - barW) / 2;
          return (
            <a key={b.key} href={b.href} aria-label={b.label} className="group outline-none focus-visible:[&>rect:first-child]:fill-zinc-200">
              <title>{b.label}</title>
              {/* A full-height hit area so thin bars are easy to point at. */}
              <rect x={PAD.left + i * slotW} y={PAD.top} width={slotW} height={plotH} className="fill-transparent group-hover:fill-zinc-100" />
              <rect x={x} y={PAD.top + plotH - h} width={barW} height={h} rx={Math.min(2, barW / 3)} className={b.fill} data-count={b.count} data-bar={b.key} />
            </a>
          );
        })}
        <text x={PAD.left + slotW / 2} y={H - PAD.bottom + 16} textAnchor="middle" className="fill-red-600 text-[11px] font-medium">
          due
        </text>
        {monthLabels.map((m) => (
          <text key={`${m.x}`} x={m.x} y={H - PAD.bottom + 16} className="fill-zinc-500 text-[11px]">
            {m.text}
          </text>
        ))}
      </svg>
      <figcaption className="mt-2 flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-zinc-500">
        <span className="inline-flex items-center gap-1.5"><span className="size-2.5 rounded-sm bg-red-500" aria-hidden="true" /> Past due</span>
        <span className="inline-flex items-center gap-1.5"><span className="size-2.5 rounded-sm bg-amber-500" aria-hidden="true" /> Within 30 days</span>
        <span className="inline-flex items-center gap-1.5"><span className="size-2.5 rounded-sm bg-zinc-700" aria-hidden="true" /> Later</span>
        <span className="ml-auto">Select a bar to list its devices.</span>
      </figcaption>
    </figure>
  );
}
