// The delivery log: every attempt, newest first (Settings → Notifications; overview failures).
import { Table, THead, Th, Tr, Td } from "@/components/ui/table";
import { Badge } from "@/components/ui/badge";
import { formatDateTime, relativeTime } from "@/components/ui/format";
import type { DeliveryView } from "@/lib/services/notifications/manage";

export type DeliveryRow = Omit<DeliveryView, "channelId" | "alertId">;

export function DeliveryLog({ deliveries, now, compact }: { deliveries: DeliveryRow[]; now: Date; compact?: boolean }) {
  return (
    <Table data-testid={compact ? "failed-deliveries-table" : "deliveries-table"}>
        <THead>
          <tr>
            <Th>When</Th>
            <Th>Channel</Th>
            <Th>Event</Th>
            {!compact && <Th>Attempt</Th>}
            <Th>Result</Th>
            {!compact && <Th className="text-right">Time</Th>}
          </tr>
        </THead>
        <tbody>
          {deliveries.map((d) => (
            <Tr key={d.id} data-delivery-outcome={d.outcome}>
              <Td className="py-2 text-xs text-zinc-600" title={formatDateTime(d.createdAt)}>{relativeTime(d.createdAt, now)}</Td>
              <Td className="py-2">
                {d.channelName} <span className="text-xs text-zinc-500">{d.channelKind}</span>
              </Td>
              <Td className="py-2 font-mono text-xs">{d.type}</Td>
              {!compact && <Td className="py-2 text-xs">{d.attempt}</Td>}
              <Td className="py-2">
                {d.outcome === "success" ? <Badge tone="green">Delivered{d.statusCode ? ` · ${d.statusCode}` : ""}</Badge> : <Badge tone="red">Failed{d.statusCode ? ` · ${d.statusCode}` : ""}</Badge>}
                {d.error && <div className="mt-0.5 text-xs text-zinc-500">{d.error}</div>}
              </Td>
              {!compact && <Td className="py-2 text-right text-xs text-zinc-600">{d.durationMs} ms</Td>}
            </Tr>
          ))}
        </tbody>
      </Table>
  );
}
