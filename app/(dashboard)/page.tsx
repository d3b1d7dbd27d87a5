import Link from "next/link";
import type { Metadata } from "next";
import { Download, ScrollText, ShieldAlert, Upload } from "lucide-react";
import { can } from "@/lib/auth/roles";
import { getExpiryTimeline, getOverviewCounts } from "@/lib/services/overview";
import { getCrlStates } from "@/lib/services/crl";
import { listAuditEvents } from "@/lib/services/audit";
import { deviceNames } from "@/lib/services/inventory";
import { PageHeader } from "@/components/ui/page-header";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { buttonClasses } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { formatDateTime, formatNumber } from "@/components/ui/format";
import { KpiCard } from "@/components/overview/kpi-card";
import { ExpiryChart } from "@/components/overview/expiry-chart";
import { CrlFreshnessTable } from "@/components/overview/crl-freshness";
import { AuditList } from "@/components/audit/audit-list";
import { FailedDeliveries } from "@/components/alerts/failed-deliveries";
import { getFailedDeliveries } from "@/lib/services/notifications/manage";
import { listBrokers } from "@/lib/services/brokers";
import { BrokerHealthCard } from "@/components/brokers/broker-health-card";
import { requireActor } from "./require-actor";

export const metadata: Metadata = { title: "Overview" };

export default async function OverviewPage() {
  const actor = await requireActor();
  const now = new Date();
  const [counts, timeline, crls, events, failedDeliveries] = await Promise.all([
    getOverviewCounts(actor, now),
    getExpiryTimeline(actor, now),
    getCrlStates(actor).catch((e) => {
      console.error("[certfleet] CRL state unavailable", e);
      return [];
    }),
    can(actor.role, "audit:read") ? listAuditEvents(actor, { limit: 8 }) : Promise.resolve([]),
    can(actor.role, "audit:read") ? getFailedDeliveries(actor, now) : Promise.resolve({ count: 0, latest: [] }),
  ]);
  const inWeeks = timeline.weeks.reduce((s, w) => s + w.count, 0);
  const brokers = await listBrokers(actor).catch(() => []);
  const names = await deviceNames(actor, events.filter((e) => e.targetType === "device" && e.targetId).map((e) => e.targetId!));

  return (
    <>
      <PageHeader
        title="Overview"
        description={<>Fleet health as of <time dateTime={now.toISOString()}>{formatDateTime(now)}</time></>}
        actions={
          <>
            <a href="/api/v1/devices/export" download className={buttonClasses("secondary")}>
              <Download aria-hidden="true" /> Export CSV
            </a>
            {can(actor.role, "devices:write") && (
              <Link href="/devices/import" className={buttonClasses("primary")}>
                <Upload aria-hidden="true" /> Import devices
              </Link>
            )}
          </>
        }
      />

      <section aria-label="Fleet counts" className="grid grid-cols-2 gap-3 sm:grid-cols-4 xl:grid-cols-8">
        <KpiCard id="devices" label="Devices" value={counts.devices} href="/devices" hint={`${formatNumber(counts.activeDevices)} active · ${formatNumber(counts.disabledDevices)} disabled`} />
        <KpiCard id="valid" label="Valid certificates" value={counts.valid} href="/devices?cert=valid&sort=expiry" accent="green" hint={`of ${formatNumber(counts.certificatesTotal)} issued`} />
        <KpiCard id="expiring7" label="Expiring ≤ 7 days" value={counts.expiring7} href="/devices?within=7&sort=expiry" accent="red" />
        <KpiCard id="expiring30" label="Expiring ≤ 30 days" value={counts.expiring30} href="/devices?within=30&sort=expiry" accent="orange" />
        <KpiCard id="expiring90" label="Expiring ≤ 90 days" value={counts.expiring90} href="/devices?within=90&sort=expiry" accent="amber" />
        <KpiCard id="expired" label="Expired" value={counts.expired} href="/devices?cert=expired&sort=expiry" accent="red" hint="still deployed" />
        <KpiCard id="revoked" label="Revoked" value={counts.revoked} href="/devices?cert=revoked" accent="violet" hint={`${formatNumber(counts.decommissionedDevices)} decommissioned`} />
        <KpiCard id="psk" label="With PSK" value={counts.devicesWithPsk} href="/devices?psk=yes" accent="blue" />
      </section>

      <FailedDeliveries failed={failedDeliveries} now={now} canManage={can(actor.role, "notifications:manage")} />

      <Card className="mt-4">
        <CardHeader
          title="Certificate expiry, next 52 weeks"
          description={`Current certificate of each device in service: ${formatNumber(timeline.pastDue)} past due, ${formatNumber(inWeeks)} in the next 52 weeks, ${formatNumber(timeline.later)} later.`}
        />
        <CardBody>
          <ExpiryChart pastDue={timeline.pastDue} weeks={timeline.weeks} now={now} />
        </CardBody>
      </Card>

      <div className="mt-4 grid gap-4 lg:grid-cols-5">
        <Card className="lg:col-span-3">
          <CardHeader
            title="CRL freshness"
            description="Brokers refuse every client when a CRL they check is past its next update."
            actions={<Link href="/cas" className={buttonClasses("ghost", "xs")}>CAs</Link>}
          />
          {crls.length ? (
            <CrlFreshnessTable crls={crls} now={now} />
          ) : (
            <EmptyState icon={<ShieldAlert />} title="No CRL signed yet" description="Each issuing CA's CRL appears here once it has been signed (at server start and after every revocation)." />
          )}
        </Card>
        <Card className="lg:col-span-2">
          <CardHeader title="Recent activity" actions={<Link href="/audit" className={buttonClasses("ghost", "xs")}>Audit log</Link>} />
          {events.length ? (
            <AuditList events={events} now={now} names={names} />
          ) : (
            <EmptyState icon={<ScrollText />} title="Nothing happened yet" description="Changes to devices, certificates, PSKs, users and tokens show up here." />
          )}
        </Card>
      </div>
      <BrokerHealthCard brokers={brokers} now={now} />
    </>
  );
}
