// Builds the OpenAPI 3.1 document from lib/api/operations.ts and the zod schemas it references.
import { z } from "zod";
import { OPERATIONS, type Operation } from "./operations";

function jsonSchema(schema: z.ZodType) {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
}

const problem = {
  description: "Problem details (RFC 9457)",
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
};

function queryParameters(op: Operation) {
  if (!op.query) return [];
  const schema = jsonSchema(op.query) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({ name, in: "query", required: schema.required?.includes(name) ?? false, schema: s }));
}

const WEBHOOK_DESCRIPTION = [
  "CertFleet POSTs one JSON NotificationEvent per alert (or per daily digest) to the channel URL.",
  "",
  "Signature: `X-CertFleet-Signature: t=<unix seconds>,v1=<hex>` where v1 = HMAC-SHA256(key = the channel secret shown once at creation, message = `<t>.<raw body>`).",
  "Receivers recompute v1 over the raw body bytes, compare in constant time, and refuse a t more than 5 minutes from their clock (replay).",
  "Each attempt is signed anew (its own t). Receivers may deduplicate on `id` / X-CertFleet-Delivery.",
].join("\n");

const NOTIFICATION_EVENT_SCHEMA = {
  type: "object",
  required: ["id", "type", "occurredAt", "summary", "rule", "items", "total", "source"],
  properties: {
    id: { type: "string", description: "The alert's id; test sends use test-…" },
    type: {
      type: "string",
      enum: ["certificate.expiring", "certificate.expired", "ca.expiring", "ocsp-responder.expiring", "crl.stale", "certificate.revoked", "est.refusals", "digest", "test"],
    },
    occurredAt: { type: "string", format: "date-time" },
    summary: { type: "string", description: "One line for people (also the email subject)" },
    rule: { oneOf: [{ type: "null" }, { type: "object", properties: { id: { type: "string" }, name: { type: "string" }, kind: { type: "string" } } }] },
    items: {
      type: "array",
      description:
        "What the alert is about. Certificate alerts: deviceId, deviceName, certificateId, serial, ca, notAfter, daysLeft, thresholdDays; CA: ca, kind, notAfter, daysLeft, thresholdDays; OCSP responder: ca, serial, notAfter; CRL: ca, crlNumber, thisUpdate, nextUpdate; revocation: action, by, at, deviceId, certificateId, serial, reason; EST refusals: at, route, status, reason, address. A digest's items add `event` (the type each would have had).",
      items: { type: "object", additionalProperties: { type: ["string", "number", "boolean", "null"] } },
    },
    total: { type: "integer", description: "How many matched (a digest lists at most 500 items)" },
    source: { type: "string", description: "CERTFLEET_PUBLIC_URL of the sending instance" },
  },
};

export function buildOpenApiDocument(serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [operationId, op] of Object.entries(OPERATIONS) as [string, Operation][]) {
    const parameters = [
      ...[...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } })),
      ...queryParameters(op),
    ];
    (paths[op.path] ??= {})[op.method.toLowerCase()] = {
      operationId,
      summary: op.summary,
      tags: [op.tag],
      description: op.permission === "public" ? "No authentication." : `Requires permission \`${op.permission}\`.`,
      ...(op.permission === "public" ? { security: [] } : {}),
      parameters,
      ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(op.body) } } } } : {}),
      responses: {
        [op.success]: { description: "Success", content: { "application/json": { schema: {} } } },
        400: problem,
        401: problem,
        403: problem,
        ...(op.path.includes("{") ? { 404: problem } : {}),
        ...(op.body ? { 409: problem, 413: problem, 422: problem } : {}),
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "CertFleet API", version: "1", description: "Certificates and pre-shared keys for an IoT fleet." },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    paths,
    webhooks: {
      notification: {
        post: {
          summary: "A notification from a webhook channel (Settings → Notifications, /api/v1/notification-channels)",
          description: WEBHOOK_DESCRIPTION,
          parameters: [
            { name: "X-CertFleet-Signature", in: "header", required: true, schema: { type: "string", example: "t=1767000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd" } },
            { name: "X-CertFleet-Event", in: "header", required: true, schema: { type: "string" }, description: "The event type (as `type` in the body)" },
            { name: "X-CertFleet-Delivery", in: "header", required: true, schema: { type: "string" }, description: "The alert id (as `id` in the body); the same on every retry" },
          ],
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/NotificationEvent" } } } },
          responses: { "2XX": { description: "Delivered. Anything else is a failure: 5xx, 429, timeouts and network errors are retried (3 attempts, 1 s then 4 s apart); redirects are not followed." } },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API token from `npx certfleet token create`" } },
      schemas: {
        NotificationEvent: NOTIFICATION_EVENT_SCHEMA,
        Problem: {
          type: "object",
          required: ["type", "title", "status"],
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            code: { type: "string" },
            errors: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
          },
        },
      },
    },
  };
}
