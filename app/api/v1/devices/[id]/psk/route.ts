import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { createOrRotatePsk, listDevicePsks, revokeDevicePsk } from "@/lib/services/psk";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.listPsks, async ({ actor, params }) => ({ items: await listDevicePsks(actor, params.id) }));
/** Create or rotate; the answer carries the key once (key for EMQX/devices, keyHex for Mosquitto). */
export const POST = apiRoute(OPERATIONS.createOrRotatePsk, ({ actor, params, body }) => createOrRotatePsk(actor, params.id, body));
export const DELETE = apiRoute(OPERATIONS.revokePsk, ({ actor, params }) => revokeDevicePsk(actor, params.id));
