// RFC 9457 problem details for every REST error.
import { ERROR_TITLES, type AppError } from "../errors";

export function problemResponse(err: AppError, instance?: string): Response {
  const body: Record<string, unknown> = {
    type: `https://certfleet.dev/problems/${err.code.toLowerCase().replace(/_/g, "-")}`,
    title: ERROR_TITLES[err.code],
    status: err.status,
    detail: err.message,
    code: err.code,
  };
  if (instance) body.instance = instance;
  if (err.fieldErrors.length) body.errors = err.fieldErrors;
  const headers: Record<string, string> = { "content-type": "application/problem+json", "cache-control": "no-store" };
  if (err.status === 401) headers["www-authenticate"] = 'Bearer realm="certfleet"';
  return new Response(JSON.stringify(body), { status: err.status, headers });
}
