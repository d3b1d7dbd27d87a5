import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { listCas } from "@/lib/services/cas";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.listCas, ({ actor }) => listCas(actor));
