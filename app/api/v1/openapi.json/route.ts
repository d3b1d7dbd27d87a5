import { buildOpenApiDocument } from "@/lib/api/openapi";
import { config } from "@/lib/config";

export const dynamic = "force-dynamic";

/** Public: the API's shape is not a secret, and tools fetch it before they have a token. */
export function GET() {
  return Response.json(buildOpenApiDocument(config().publicUrl));
}
