import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { createNotificationChannel, listNotificationChannels } from "@/lib/services/notifications/manage";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.listNotificationChannels, async ({ actor }) => ({ items: await listNotificationChannels(actor) }));
export const POST = apiRoute(OPERATIONS.createNotificationChannel, ({ actor, body }) => createNotificationChannel(actor, body));
