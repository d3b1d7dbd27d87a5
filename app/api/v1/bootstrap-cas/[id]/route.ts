import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { setBootstrapCaStatus } from "@/lib/services/est";

export const dynamic = "force-dynamic";

export const PATCH = apiRoute(OPERATIONS.setBootstrapCaStatus, ({ actor, params, body }) => setBootstrapCaStatus(actor, params.id, body.status));
