import Link from "next/link";
import type { Metadata } from "next";
import { Download, Upload } from "lucide-react";
import { can } from "@/lib/auth/roles";
import { listInventory, listKnownTags } from "@/lib/services/inventory";
import { listCas } from "@/lib/services/cas";
import { filterToParams, parseInventoryQuery, type TInventoryFilter } from "@/lib/validation/inventory";
import { PageHeader } from "@/components/ui/page-header";
import { Card } from "@/components/ui/card";
import { buttonClasses } from "@/components/ui/button";
import { InventoryNavProvider } from "@/components/devices/inventory-nav";
import { InventoryFilters } from "@/components/devices/inventory-filters";
import { InventoryTable } from "@/components/devices/inventory-table";
import { NewDeviceDialog } from "@/components/devices/new-device-dialog";
import { describeFilter } from "@/components/devices/filter-text";
import { requireActor } from "../require-actor";
import { bulkOnDevicesAction, bulkOnFilterAction, countMatchingDevicesAction, createDeviceFormAction } from "./actions";

export const metadata: Metadata = { title: "Devices" };

export default async function DevicesPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireActor();
  const query = parseInventoryQuery(await searchParams);
  const [page, tags, cas] = await Promise.all([listInventory(actor, query), listKnownTags(actor), listCas(actor)]);
  const issuing = cas.filter((c) => c.kind === "issuing").map((c) => ({ id: c.id, slug: c.slug, name: c.name }));
  const filter: TInventoryFilter = { q: query.q, status: query.status, cert: query.cert, within: query.within, from: query.from, to: query.to, tag: query.tag, ca: query.ca, psk: query.psk, est: query.est };
  const exportQs = filterToParams(filter).toString();
  const filtered = exportQs.length > 0;
  const caNames = Object.fromEntries(issuing.map((c) => [c.slug, c.name]));

  return (
    <>
      <PageHeader
        title="Devices"
        description="Every device, its current certificate and PSK. Filters live in the URL: share the link to share the view."
        actions={
          <>
            <a href={`/api/v1/devices/export${exportQs ? `?${exportQs}` : ""}`} className={buttonClasses("secondary")} download>
              <Download aria-hidden="true" /> Export CSV
            </a>
            {can(actor.role, "devices:write") && (
              <>
                <Link href="/devices/import" className={buttonClasses("secondary")}>
                  <Upload aria-hidden="true" /> Import
                </Link>
                <NewDeviceDialog create={createDeviceFormAction} />
              </>
            )}
          </>
        }
      />
      <InventoryNavProvider>
        <div className="mb-3">
          <InventoryFilters options={{ tags, cas: issuing }} />
        </div>
        <Card className="overflow-hidden">
          <InventoryTable
            items={page.items}
            nextCursor={page.nextCursor}
            prevCursor={page.prevCursor}
            total={page.total}
            filter={filter}
            filterText={describeFilter(filter, caNames)}
            filtered={filtered}
            canBulk={can(actor.role, "certificates:write")}
            bulkActions={{ onDevices: bulkOnDevicesAction, onFilter: bulkOnFilterAction, count: countMatchingDevicesAction }}
            nowMs={Date.now()}
          />
        </Card>
      </InventoryNavProvider>
    </>
  );
}
