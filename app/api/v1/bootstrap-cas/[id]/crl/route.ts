// First: collecting page data may evaluate this route before any module that loads the polyfill @peculiar/x509 needs.
import "reflect-metadata";
import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { attachBootstrapCrl } from "@/lib/services/est";

export const dynamic = "force-dynamic";

export const POST = apiRoute(OPERATIONS.attachBootstrapCrl, ({ actor, params, body }) => attachBootstrapCrl(actor, params.id, body));
