import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { sendTestNotification } from "@/lib/services/notifications/manage";

export const dynamic = "force-dynamic";

export const POST = apiRoute(OPERATIONS.testNotificationChannel, ({ actor, params }) => sendTestNotification(actor, params.id));
