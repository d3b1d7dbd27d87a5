import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { decommissionDevice, getDevice, updateDevice } from "@/lib/services/devices";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.getDevice, ({ actor, params }) => getDevice(actor, params.id));
export const PATCH = apiRoute(OPERATIONS.updateDevice, ({ actor, params, body }) => updateDevice(actor, params.id, body));
/** Decommissions the device (revokes its certificates and PSKs); the record stays for the audit trail. */
export const DELETE = apiRoute(OPERATIONS.decommissionDevice, ({ actor, params }) => decommissionDevice(actor, params.id));
