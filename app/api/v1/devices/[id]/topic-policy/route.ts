import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { deleteTopicPolicy, getTopicPolicy, setTopicPolicy } from "@/lib/services/topic-policies";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.getDeviceTopicPolicy, ({ actor, params }) => getTopicPolicy(actor, "device", params.id));
export const PUT = apiRoute(OPERATIONS.setDeviceTopicPolicy, ({ actor, params, body }) => setTopicPolicy(actor, "device", params.id, body));
export const DELETE = apiRoute(OPERATIONS.deleteDeviceTopicPolicy, ({ actor, params }) => deleteTopicPolicy(actor, "device", params.id));
