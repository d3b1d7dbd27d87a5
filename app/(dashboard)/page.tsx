import { db } from "@/lib/db";

export default async function OverviewPage() {
  const [devices, certificates, users] = await Promise.all([db().device.count(), db().certificate.count(), db().user.count()]);
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold tracking-tight">Overview</h1>
      <dl className="grid gap-4 sm:grid-cols-3">
        {[["Devices", devices], ["Certificates", certificates], ["Users", users]].map(([label, value]) => (
          <div key={label} className="rounded-xl border border-zinc-200 bg-white p-4">
            <dt className="text-sm text-zinc-500">{label}</dt>
            <dd className="mt-1 text-2xl font-semibold tabular-nums">{value}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
