import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { deleteNotificationChannel, setNotificationChannelEnabled } from "@/lib/services/notifications/manage";

export const dynamic = "force-dynamic";

export const PATCH = apiRoute(OPERATIONS.updateNotificationChannel, ({ actor, params, body }) => setNotificationChannelEnabled(actor, params.id, body.enabled));
export const DELETE = apiRoute(OPERATIONS.deleteNotificationChannel, ({ actor, params }) => deleteNotificationChannel(actor, params.id));
