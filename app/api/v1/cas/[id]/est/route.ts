import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { updateCaEstSettings } from "@/lib/services/est";

export const dynamic = "force-dynamic";

export const PATCH = apiRoute(OPERATIONS.updateCaEstSettings, ({ actor, params, body }) => updateCaEstSettings(actor, params.id, body));
