/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas of the contract (z.toJSONSchema), so
 * it cannot drift from what the routes register and validate. Served at GET /openapi.json; docs/api.md is the prose
 * companion.
 */
import { z } from "zod";
import { ErrorResponse, pathParams, ROUTE_TAGS, ROUTES, type RouteSpec } from "../contract";

const schema = (s: z.ZodType, io: "input" | "output") => z.toJSONSchema(s, { io, unrepresentable: "any" });

const errorResponse = () => ({ description: "error", content: { "application/json": { schema: schema(ErrorResponse, "output") } } });

function queryParams(obj: z.ZodObject): object[] {
  return Object.entries(obj.shape).map(([name, s]) => ({
    name,
    in: "query",
    required: !(s as z.ZodType).safeParse(undefined).success,
    schema: schema(s as z.ZodType, "input"),
  }));
}

function operation(spec: RouteSpec): object {
  const parameters = [
    ...pathParams(spec.path).map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
    ...(spec.query ? queryParams(spec.query) : []),
    ...(spec.headers ?? []).map((h) => ({
      name: h.name,
      in: "header",
      required: false,
      description: h.description,
      schema: { type: "string", maxLength: h.maxLength },
    })),
  ];
  const responses: Record<string, object> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const alternatives = Object.fromEntries(
      Object.entries(r.alternatives ?? {}).map(([type, description]) => [type, { schema: { type: "string", description } }]),
    );
    responses[status] = r.schema
      ? { description: r.description, content: { "application/json": { schema: schema(r.schema, "output") }, ...alternatives } }
      : r.contentType
        ? {
            description: r.description,
            content: { [r.contentType]: { schema: r.contentType === "application/json" ? { type: "object" } : { type: "string" } } },
          }
        : { description: r.description };
  }
  for (const status of [...spec.errors, ...(spec.scope === null ? [] : [401, 403])]) responses[String(status)] = errorResponse();
  const requestBody = spec.body && {
    required: spec.body.required,
    content: Object.fromEntries(
      Object.entries(spec.body.content).map(([type, c]) => [
        type,
        {
          schema:
            c instanceof z.ZodType ? schema(c, "input") : { type: "string", description: c.description, ...(c.format ? { format: c.format } : {}) },
        },
      ]),
    ),
  };
  return {
    tags: [ROUTE_TAGS[spec.tag].name],
    summary: spec.summary,
    ...(spec.scope === null ? { security: [] } : { security: [{ bearer: [] }], "x-scope": spec.scope }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

/** Builds the document; src/worker/isolate.ts keeps the one an isolate builds (it depends only on the contract). */
export function openApiDocument(): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const spec of Object.values(ROUTES) as RouteSpec[]) {
    paths[spec.path] ??= {};
    paths[spec.path]![spec.method] = operation(spec);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "scoregate",
      version: "0.1.0",
      description: "Calibrated, served and watched retrieval score cutoffs. Scopes nest: read < calibrate < admin.",
    },
    tags: Object.values(ROUTE_TAGS).map(({ name, description }) => ({ name, description })),
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}
