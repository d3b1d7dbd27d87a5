import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { revokeCertificate } from "@/lib/services/certificates";

export const dynamic = "force-dynamic";

export const POST = apiRoute(OPERATIONS.revokeCertificate, ({ actor, params, body }) => revokeCertificate(actor, params.id, body.reason));
