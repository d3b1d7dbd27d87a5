import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { deleteNotificationRule, setNotificationRuleEnabled } from "@/lib/services/notifications/manage";

export const dynamic = "force-dynamic";

export const PATCH = apiRoute(OPERATIONS.updateNotificationRule, ({ actor, params, body }) => setNotificationRuleEnabled(actor, params.id, body.enabled));
export const DELETE = apiRoute(OPERATIONS.deleteNotificationRule, ({ actor, params }) => deleteNotificationRule(actor, params.id));
