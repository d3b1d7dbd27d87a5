import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { createNotificationRule, listNotificationRules } from "@/lib/services/notifications/manage";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.listNotificationRules, async ({ actor }) => ({ items: await listNotificationRules(actor) }));
export const POST = apiRoute(OPERATIONS.createNotificationRule, ({ actor, body }) => createNotificationRule(actor, body));
