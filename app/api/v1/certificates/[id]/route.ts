import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { getCertificate } from "@/lib/services/certificates";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.getCertificate, ({ actor, params }) => getCertificate(actor, params.id));
