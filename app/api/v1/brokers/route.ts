import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { createBroker, listBrokers } from "@/lib/services/brokers";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.listBrokers, async ({ actor }) => ({ items: await listBrokers(actor) }));
/** The answer's authUrl (the auth-backend URL with the broker's secret) is shown only here. */
export const POST = apiRoute(OPERATIONS.createBroker, ({ actor, body }) => createBroker(actor, body));
