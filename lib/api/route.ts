// The one wrapper every REST route handler goes through: authenticates (bearer token; a browser
// session is accepted for reads only, so no cross-site form can mutate), checks the permission,
// enforces the body limit, parses JSON, validates body and query with the shared zod schemas, and
// maps every error to problem+json.
import "server-only";
import type { z } from "zod";
import { AppError } from "../errors";
import { toAppError } from "../error-mapping";
import { authorize, type Actor, type Permission } from "../auth/roles";
import { authenticateToken } from "../services/tokens";
import { currentActor } from "../auth/session";
import { problemResponse } from "./problem";

export const MAX_BODY_BYTES = 1024 * 1024;

/** Usually an entry of OPERATIONS (lib/api/operations.ts), so the OpenAPI document matches. */
interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  permission: Permission;
  body?: B;
  query?: Q;
  success?: number;
}

type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface RouteContext<B, Q> {
  actor: Actor;
  body: B;
  query: Q;
  params: Record<string, string>;
  request: Request;
}

async function authenticate(request: Request): Promise<Actor> {
  const header = request.headers.get("authorization");
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const actor = match ? await authenticateToken(match[1]) : null;
    if (!actor) throw new AppError("UNAUTHENTICATED", "The bearer token is invalid, expired or revoked");
    return actor;
  }
  if (request.method === "GET" || request.method === "HEAD") {
    const actor = await currentActor();
    if (actor) return actor;
  }
  throw new AppError("UNAUTHENTICATED", "Send an API token as 'Authorization: Bearer <token>'");
}

async function readJson(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new AppError("PAYLOAD_TOO_LARGE", `The body exceeds ${MAX_BODY_BYTES} bytes`);
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json");
  // Read incrementally so a body without (or with a false) Content-Length cannot exceed the limit.
  const reader = request.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel();
        throw new AppError("PAYLOAD_TOO_LARGE", `The body exceeds ${MAX_BODY_BYTES} bytes`);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text.trim()) throw new AppError("BAD_REQUEST", "The request body is empty");
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("BAD_REQUEST", "The request body is not valid JSON");
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown, where: "body" | "query"): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((i) => ({ path: [where, ...i.path].join("."), message: i.message }));
  throw new AppError("VALIDATION", `Invalid ${where}: ${errors.map((e) => `${e.path} ${e.message}`).join("; ")}`, errors);
}

export function apiRoute<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<B, Q>,
  handler: (ctx: RouteContext<Infer<B>, Infer<Q>>) => Promise<Response | unknown>,
) {
  return async (request: Request, context: { params: Promise<Record<string, string>> }): Promise<Response> => {
    try {
      const actor = await authenticate(request);
      authorize(actor, spec.permission);
      const url = new URL(request.url);
      const query = spec.query ? validate(spec.query, Object.fromEntries(url.searchParams), "query") : undefined;
      const body = spec.body ? validate(spec.body, await readJson(request), "body") : undefined;
      const params = (await context?.params) ?? {};
      const result = await handler({ actor, body: body as Infer<B>, query: query as Infer<Q>, params, request });
      if (result instanceof Response) return result;
      return json(result, spec.success ?? 200);
    } catch (e) {
      return problemResponse(toAppError(e), new URL(request.url).pathname);
    }
  };
}

export function json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify(data, jsonReplacer), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });
}

function jsonReplacer(_key: string, value: unknown) {
  if (typeof value === "bigint") return value.toString();
  return value;
}
