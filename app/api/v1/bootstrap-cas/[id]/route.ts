// First: collecting page data may evaluate this route before any module that loads the polyfill @peculiar/x509 needs.
import "reflect-metadata";
import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { deleteBootstrapCa, setBootstrapCaStatus } from "@/lib/services/est";

export const dynamic = "force-dynamic";

export const PATCH = apiRoute(OPERATIONS.setBootstrapCaStatus, ({ actor, params, body }) => setBootstrapCaStatus(actor, params.id, body.status));
export const DELETE = apiRoute(OPERATIONS.deleteBootstrapCa, ({ actor, params }) => deleteBootstrapCa(actor, params.id));
