import { apiRoute } from "@/lib/api/route";
import { ZDeviceUpdate } from "@/lib/validation/devices";
import { decommissionDevice, getDevice, updateDevice } from "@/lib/services/devices";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ permission: "devices:read" }, ({ actor, params }) => getDevice(actor, params.id));

export const PATCH = apiRoute({ permission: "devices:write", body: ZDeviceUpdate }, ({ actor, params, body }) => updateDevice(actor, params.id, body));

/** Decommissions the device (revokes its certificates and PSKs); the record stays for the audit trail. */
export const DELETE = apiRoute({ permission: "devices:write" }, ({ actor, params }) => decommissionDevice(actor, params.id));
