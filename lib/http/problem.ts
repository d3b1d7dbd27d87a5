// Errors and bearer-token authentication for the plain Node handlers (PSK file, /metrics), in the
// same shapes as the REST API (lib/api/problem.ts, lib/api/route.ts).
import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError, ERROR_TITLES } from "../errors";
import { authorize, type Actor, type Permission } from "../auth/roles";
import { authenticateToken } from "../services/tokens";

/** Same body as lib/api/problem.ts (RFC 9457), written to a Node response. */
export function sendProblem(res: ServerResponse, instance: string, err: AppError, status = err.status, title = ERROR_TITLES[err.code], extraHeaders: Record<string, string> = {}) {
  const body: Record<string, unknown> = {
    type: `https://certfleet.dev/problems/${err.code.toLowerCase().replace(/_/g, "-")}`,
    title,
    status,
    detail: err.message,
    code: err.code,
    instance,
  };
  if (err.fieldErrors.length) body.errors = err.fieldErrors;
  const headers: Record<string, string> = { "content-type": "application/problem+json", "cache-control": "no-store", ...extraHeaders };
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="certfleet"';
  res.writeHead(status, headers).end(JSON.stringify(body));
}

/** The token's actor, checked for `permission`; throws UNAUTHENTICATED / FORBIDDEN. `what` names the token in the error. */
export async function bearerActor(req: IncomingMessage, permission: Permission, what: string): Promise<Actor> {
  const header = req.headers.authorization;
  if (!header) throw new AppError("UNAUTHENTICATED", `Send ${what} as 'Authorization: Bearer <token>'`);
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const actor = match ? await authenticateToken(match[1]) : null;
  if (!actor) throw new AppError("UNAUTHENTICATED", "The bearer token is invalid, expired or revoked");
  authorize(actor, permission);
  return actor;
}
