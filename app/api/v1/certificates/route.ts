import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { listCertificates } from "@/lib/services/certificates";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.listCertificates, ({ actor, query }) => listCertificates(actor, query));
