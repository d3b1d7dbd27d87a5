import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { unholdCertificate } from "@/lib/services/certificates";

export const dynamic = "force-dynamic";

export const POST = apiRoute(OPERATIONS.unholdCertificate, ({ actor, params }) => unholdCertificate(actor, params.id));
