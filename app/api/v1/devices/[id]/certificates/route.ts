import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { issueDeviceCertificate } from "@/lib/services/certificates";

export const dynamic = "force-dynamic";

export const POST = apiRoute(OPERATIONS.issueCertificate, ({ actor, params, body }) => issueDeviceCertificate(actor, params.id, body));
