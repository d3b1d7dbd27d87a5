import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { createDevice, listDevices } from "@/lib/services/devices";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.listDevices, ({ actor, query }) => listDevices(actor, query));
export const POST = apiRoute(OPERATIONS.createDevice, ({ actor, body }) => createDevice(actor, body));
