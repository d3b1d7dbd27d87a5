// CRL state per issuing CA: number, when it was signed, when it must be replaced, size.
import { Badge } from "@/components/ui/badge";
import { formatBytes, formatDateTime, formatNumber, relativeTime } from "@/components/ui/format";
import { Table, THead, Th, Tr, Td } from "@/components/ui/table";
import type { CrlStateView } from "@/lib/services/crl";

export type CrlStateRow = CrlStateView;

export function crlFreshness(crl: Pick<CrlStateRow, "thisUpdate" | "nextUpdate">, now: Date): { label: string; tone: "green" | "amber" | "red" } {
  const left = crl.nextUpdate.getTime() - now.getTime();
  const life = crl.nextUpdate.getTime() - crl.thisUpdate.getTime();
  if (left <= 0) return { label: "Stale", tone: "red" };
  // Brokers that refresh at half the lifetime should already hold a newer CRL by now.
  if (left < life / 4) return { label: "Due soon", tone: "amber" };
  return { label: "Fresh", tone: "green" };
}

export function CrlFreshnessTable({ crls, now }: { crls: CrlStateRow[]; now: Date }) {
  return (
    <Table>
      <THead>
        <tr>
          <Th>CA</Th>
          <Th>State</Th>
          <Th className="text-right">Number</Th>
          <Th>Signed</Th>
          <Th>Next update</Th>
          <Th className="text-right">Entries</Th>
          <Th className="text-right">Size</Th>
        </tr>
      </THead>
      <tbody>
        {crls.map((c) => {
          const f = crlFreshness(c, now);
          return (
            <Tr key={c.caId} data-testid={`crl-${c.slug}`}>
              <Td>
                <a href={c.crlUrl} className="font-medium text-zinc-900 hover:underline">{c.slug}</a>
              </Td>
              <Td><Badge tone={f.tone} dot>{f.label}</Badge></Td>
              <Td className="text-right font-mono text-xs tabular-nums">{c.number}</Td>
              <Td className="text-xs whitespace-nowrap text-zinc-600" title={formatDateTime(c.thisUpdate)}>{relativeTime(c.thisUpdate, now)}</Td>
              <Td className="text-xs whitespace-nowrap text-zinc-600" title={formatDateTime(c.nextUpdate)}>{relativeTime(c.nextUpdate, now)}</Td>
              <Td className="text-right tabular-nums">{formatNumber(c.entryCount)}</Td>
              <Td className="text-right text-xs whitespace-nowrap text-zinc-600 tabular-nums">{formatBytes(c.sizeBytes)}</Td>
            </Tr>
          );
        })}
      </tbody>
    </Table>
  );
}
