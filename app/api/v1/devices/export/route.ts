// CSV export of the inventory with the dashboard's filters (a browser session may GET it; tokens too).
import { apiRoute } from "@/lib/api/route";
import { exportInventoryCsv } from "@/lib/services/export";
import { ZInventoryFilter } from "@/lib/validation/inventory";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ permission: "devices:read", query: ZInventoryFilter }, async ({ actor, query }) => {
  const rows = exportInventoryCsv(actor, query);
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await rows.next();
        if (done) controller.close();
        else controller.enqueue(encoder.encode(value));
      } catch (e) {
        // Headers are gone already: end the body visibly broken rather than silently short.
        console.error("[certfleet] export failed", e);
        controller.error(e);
      }
    },
    async cancel() {
      await rows.return(undefined);
    },
  });
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
  return new Response(stream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="certfleet-devices-${stamp}.csv"`,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
});
