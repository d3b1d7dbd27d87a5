// Demo fleet for `npm run demo`: devices with tags and metadata (certificates come with the PKI).
import { db } from "../lib/db";

const SITES = ["berlin", "lyon", "austin", "osaka"];
const KINDS = ["sensor", "gateway", "meter", "camera"];

export async function seedDemoFleet(count = 2000) {
  const existing = await db().device.count({ where: { name: { startsWith: "demo-" } } });
  if (existing > 0) {
    console.log(`[certfleet] demo fleet present (${existing} devices)`);
    return;
  }
  for (let start = 0; start < count; start += 500) {
    const batch = Array.from({ length: Math.min(500, count - start) }, (_, k) => {
      const i = start + k;
      const kind = KINDS[i % KINDS.length];
      const site = SITES[Math.floor(i / KINDS.length) % SITES.length];
      return { id: `demo${String(i).padStart(6, "0")}`, name: `demo-${kind}-${String(i).padStart(5, "0")}`, kind, site };
    });
    await db().$transaction([
      db().device.createMany({
        data: batch.map((d) => ({ id: d.id, name: d.name, externalId: `EXT-${d.id}`, metadata: JSON.stringify({ site: d.site, model: `${d.kind}-v2` }) })),
      }),
      db().deviceTag.createMany({ data: batch.flatMap((d) => [{ deviceId: d.id, tag: d.kind }, { deviceId: d.id, tag: `site:${d.site}` }]) }),
    ]);
  }
  console.log(`[certfleet] demo fleet: ${count} devices`);
}
