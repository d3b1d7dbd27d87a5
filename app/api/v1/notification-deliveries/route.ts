import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { listNotificationDeliveries } from "@/lib/services/notifications/manage";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.listNotificationDeliveries, async ({ actor, query }) => ({ items: await listNotificationDeliveries(actor, query) }));
