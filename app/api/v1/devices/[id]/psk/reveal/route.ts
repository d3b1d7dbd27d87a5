import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { revealPsk } from "@/lib/services/psk";

export const dynamic = "force-dynamic";

/** Admin only; the reveal is written to the audit trail before the key is answered. */
export const POST = apiRoute(OPERATIONS.revealPsk, ({ actor, params, body }) => revealPsk(actor, params.id, body));
