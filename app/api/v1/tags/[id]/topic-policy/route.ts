import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { deleteTopicPolicy, getTopicPolicy, setTopicPolicy } from "@/lib/services/topic-policies";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.getTagTopicPolicy, ({ actor, params }) => getTopicPolicy(actor, "tag", params.id));
export const PUT = apiRoute(OPERATIONS.setTagTopicPolicy, ({ actor, params, body }) => setTopicPolicy(actor, "tag", params.id, body));
export const DELETE = apiRoute(OPERATIONS.deleteTagTopicPolicy, ({ actor, params }) => deleteTopicPolicy(actor, "tag", params.id));
