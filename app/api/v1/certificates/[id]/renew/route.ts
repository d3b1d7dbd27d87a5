import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { renewCertificate } from "@/lib/services/certificates";

export const dynamic = "force-dynamic";

export const POST = apiRoute(OPERATIONS.renewCertificate, ({ actor, params, body }) => renewCertificate(actor, params.id, body));
