import Link from "next/link";
import { currentActor } from "@/lib/auth/session";
import { can } from "@/lib/auth/roles";
import { listDevices } from "@/lib/services/devices";
import { ZDeviceQuery } from "@/lib/validation/devices";
import { NewDeviceForm } from "@/components/devices/new-device-form";

export default async function DevicesPage({ searchParams }: { searchParams: Promise<Record<string, string>> }) {
  const actor = (await currentActor())!;
  const query = ZDeviceQuery.parse(await searchParams);
  const { items, nextCursor } = await listDevices(actor, query);
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold tracking-tight">Devices</h1>
      {can(actor.role, "devices:write") && <NewDeviceForm />}
      <table className="w-full text-sm">
        <thead className="text-left text-zinc-500"><tr><th className="py-2">Name</th><th>Status</th><th>Tags</th><th>Expires</th></tr></thead>
        <tbody>
          {items.map((d) => (
            <tr key={d.id} className="border-t border-zinc-200">
              <td className="py-2 font-medium"><Link href={`/devices/${d.id}`}>{d.name}</Link></td>
              <td>{d.status}</td>
              <td>{d.tags.join(", ")}</td>
              <td>{d.certNotAfter?.toISOString().slice(0, 10) ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {nextCursor && <Link className="text-sm underline" href={`/devices?cursor=${nextCursor}`}>Next page</Link>}
    </div>
  );
}
