// First: collecting page data may evaluate this route before any module that loads the polyfill @peculiar/x509 needs.
import "reflect-metadata";
import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { listBootstrapCas, registerBootstrapCa } from "@/lib/services/est";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.listBootstrapCas, async ({ actor }) => ({ items: await listBootstrapCas(actor) }));
export const POST = apiRoute(OPERATIONS.registerBootstrapCa, ({ actor, body }) => registerBootstrapCa(actor, body));
