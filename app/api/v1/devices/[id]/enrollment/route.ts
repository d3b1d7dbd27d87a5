// First: collecting page data may evaluate this route before any module that loads the polyfill @peculiar/x509 needs.
import "reflect-metadata";
import { apiRoute } from "@/lib/api/route";
import { OPERATIONS } from "@/lib/api/operations";
import { createEnrollmentSecret, getDeviceEnrollment } from "@/lib/services/est";

export const dynamic = "force-dynamic";

export const GET = apiRoute(OPERATIONS.getDeviceEnrollment, ({ actor, params }) => getDeviceEnrollment(actor, params.id));
/** The password is in this answer only: it is stored hashed. */
export const POST = apiRoute(OPERATIONS.createEnrollmentSecret, ({ actor, params, body }) => createEnrollmentSecret(actor, params.id, body));
