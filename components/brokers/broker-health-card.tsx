// Overview card: per broker, last broker-sync report, last auth-backend call, last closed session.
import Link from "next/link";
import { RadioTower } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { buttonClasses } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { formatDateTime, relativeTime } from "@/components/ui/format";
import { Table, THead, Th, Tr, Td } from "@/components/ui/table";
import { BROKER_KIND_LABELS, brokerHealth, type BrokerHealthRow } from "./broker-health";

function When({ at, now }: { at: Date | null; now: Date }) {
  return at ? <span title={formatDateTime(at)}>{relativeTime(at, now)}</span> : <span className="text-zinc-500">never</span>;
}

export function BrokerHealthCard({ brokers, now }: { brokers: BrokerHealthRow[]; now: Date }) {
  return (
    <Card className="mt-4" aria-labelledby="broker-health" data-testid="broker-health">
      <CardHeader
        id="broker-health"
        title="Brokers"
        description="Last broker-sync report, last auth-backend call and last closed session of a revoked device."
        actions={<Link href="/brokers" className={buttonClasses("ghost", "xs")}>Brokers</Link>}
      />
      {brokers.length ? (
        <Table>
          <THead>
            <tr>
              <Th>Broker</Th>
              <Th>State</Th>
              <Th>Last sync</Th>
              <Th>Last auth call</Th>
              <Th>Last session closed</Th>
            </tr>
          </THead>
          <tbody>
            {brokers.map((b) => {
              const health = brokerHealth(b);
              return (
                <Tr key={b.id}>
                  <Td>
                    <span className="font-medium text-zinc-900">{b.name}</span> <span className="text-xs text-zinc-500">{BROKER_KIND_LABELS[b.kind] ?? b.kind}</span>
                  </Td>
                  <Td>
                    <Badge tone={health.tone} dot>{health.label}</Badge>
                  </Td>
                  <Td className="text-xs text-zinc-600"><When at={b.lastSyncAt} now={now} /></Td>
                  <Td className="text-xs text-zinc-600"><When at={b.lastAuthAt} now={now} /></Td>
                  <Td className="text-xs text-zinc-600">
                    <When at={b.lastKickAt} now={now} />
                    {b.kickCount > 0 && <span className="text-zinc-500"> · {b.kickCount} in total</span>}
                  </Td>
                </Tr>
              );
            })}
          </tbody>
        </Table>
      ) : (
        <EmptyState icon={<RadioTower />} title="No broker registered" description="Register a RabbitMQ or EMQX broker to answer its auth requests and close revoked devices' sessions." />
      )}
    </Card>
  );
}
