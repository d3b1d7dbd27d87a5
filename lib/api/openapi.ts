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
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API token from `npx certfleet token create`" } },
      schemas: {
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
