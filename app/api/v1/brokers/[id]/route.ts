import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { deleteBroker, getBroker, updateBroker } from "@/lib/services/brokers";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.getBroker, ({ actor, params }) => getBroker(actor, params.id));
export const PATCH = apiRoute(OPERATIONS.updateBroker, ({ actor, params, body }) => updateBroker(actor, params.id, body));
export const DELETE = apiRoute(OPERATIONS.deleteBroker, async ({ actor, params }) => {
  await deleteBroker(actor, params.id);
  return { id: params.id, deleted: true };
});
