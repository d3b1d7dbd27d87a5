// Overview card: notification deliveries that failed in the last 24 hours (nothing when none did).
import Link from "next/link";
import { Card, CardHeader } from "@/components/ui/card";
import { buttonClasses } from "@/components/ui/button";
import { formatNumber } from "@/components/ui/format";
import { DeliveryLog, type DeliveryRow } from "./delivery-log";

export function FailedDeliveries({ failed, now, canManage }: { failed: { count: number; latest: DeliveryRow[] }; now: Date; canManage: boolean }) {
  if (!failed.count) return null;
  return (
    <Card className="mt-4 border-red-200" aria-labelledby="failed-deliveries" data-testid="failed-deliveries">
      <CardHeader
        id="failed-deliveries"
        title={`${formatNumber(failed.count)} failed notification deliver${failed.count === 1 ? "y" : "ies"} in the last 24 hours`}
        description="Alerts that did not reach their webhook or mailbox after retries."
        actions={canManage ? <Link href="/settings#notification-deliveries" className={buttonClasses("ghost", "xs")}>Delivery log</Link> : undefined}
      />
      <DeliveryLog deliveries={failed.latest} now={now} compact />
    </Card>
  );
}
