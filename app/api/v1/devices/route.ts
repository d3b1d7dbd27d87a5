import { apiRoute, json } from "@/lib/api/route";
import { ZDeviceQuery, ZNewDevice } from "@/lib/validation/devices";
import { createDevice, listDevices } from "@/lib/services/devices";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ permission: "devices:read", query: ZDeviceQuery }, ({ actor, query }) => listDevices(actor, query));

export const POST = apiRoute({ permission: "devices:write", body: ZNewDevice }, async ({ actor, body }) =>
  json(await createDevice(actor, body), 201),
);
