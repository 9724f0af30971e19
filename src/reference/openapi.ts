/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas of the contract (z.toJSONSchema), so
 * it cannot drift from what the routes register and validate. Served at GET /openapi.json; docs/api.md is the prose
 * companion.
 */
import { z } from "zod";
import {
  ErrorResponse,
  GateEvent,
  GateEventKind,
  GateHeartbeat,
  pathParams,
  type ResponseSpec,
  ROUTE_TAGS,
  ROUTES,
  type RouteSpec,
  SSE_RETRY_MS,
} from "../contract";
import { declaredErrors } from "../platform/http/handle";

const schema = (s: z.ZodType, io: "input" | "output") => z.toJSONSchema(s, { io, unrepresentable: "any" });

/**
 * The schemas the document names in `components.schemas`: the pushed events, which no JSON response carries, so a
 * reader (and the API reference's model list) finds them by name. Other schemas stay inline where they are used.
 */
const COMPONENTS: Readonly<Record<string, z.ZodType>> = { GateEventKind, GateEvent, GateHeartbeat };
const ref = (id: string) => `#/components/schemas/${id}`;

function componentSchemas(): Record<string, object> {
  const registry = z.registry<{ id: string }>();
  for (const [id, s] of Object.entries(COMPONENTS)) registry.add(s, { id });
  const { schemas } = z.toJSONSchema(registry, { io: "output", unrepresentable: "any", uri: ref });
  // A component is named by its place in the document: zod's `$id` (a bare fragment, which JSON Schema 2020-12 does
  // not allow as an $id) and the per-schema `$schema` are dropped.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $id: _id, $schema: _schema, ...rest }]) => [id, rest]));
}

const componentId = (s: z.ZodType) => Object.keys(COMPONENTS).find((k) => COMPONENTS[k] === s);

/** A schema by reference when it is a component, else inline. */
function schemaOrRef(s: z.ZodType): object {
  const id = componentId(s);
  return id === undefined ? schema(s, "output") : { $ref: ref(id) };
}

/**
 * A `text/event-stream` answer: the body is a string, and its frames are described in `x-itemSchema` with the shape
 * OpenAPI 3.2 gives `itemSchema` for Server-Sent Events (one object per frame: `event`, `id`, `data` as a JSON string
 * with `contentSchema`), which 3.1 does not have; the first frame only sets `retry`.
 */
function eventStream(events: NonNullable<ResponseSpec["events"]>): object {
  const frames = Object.entries(events).map(([event, f]) => ({
    type: "object",
    description: f.description,
    required: ["event", "data", ...(f.id === undefined ? [] : ["id"])],
    properties: {
      event: { const: event },
      ...(f.id === undefined ? {} : { id: { type: "string", description: f.id } }),
      data: { type: "string", contentMediaType: "application/json", contentSchema: schemaOrRef(f.data) },
    },
  }));
  const retry = {
    type: "object",
    description: "the stream's first frame: how long to wait before reconnecting",
    required: ["retry"],
    properties: { retry: { type: "integer", const: SSE_RETRY_MS, description: "milliseconds" } },
  };
  const names = Object.entries(events).map(([event, f]) => `${event}: ${componentId(f.data) ?? "JSON"}`);
  return {
    schema: { type: "string", description: `Server-Sent Events; the frames are in x-itemSchema (${names.join(", ")})` },
    "x-itemSchema": { oneOf: [retry, ...frames] },
  };
}

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
      schema: { type: "string", ...(h.maxLength !== undefined ? { maxLength: h.maxLength } : {}) },
    })),
  ];
  const responses: Record<string, object> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const headers = r.headers && {
      headers: Object.fromEntries(Object.entries(r.headers).map(([name, description]) => [name, { description, schema: { type: "string" } }])),
    };
    const alternatives = Object.fromEntries(
      Object.entries(r.alternatives ?? {}).map(([type, description]) => [type, { schema: { type: "string", description } }]),
    );
    responses[status] = {
      ...(r.schema
        ? { description: r.description, content: { "application/json": { schema: schema(r.schema, "output") }, ...alternatives } }
        : r.events
          ? { description: r.description, content: { "text/event-stream": eventStream(r.events) } }
          : r.contentType
            ? {
                description: r.description,
                content: { [r.contentType]: { schema: r.contentType === "application/json" ? { type: "object" } : { type: "string" } } },
              }
            : { description: r.description }),
      ...headers,
    };
  }
  // The entry's own errors and those every route of its kind can answer (the query and body checks, the scope, 503).
  for (const status of declaredErrors(spec)) responses[String(status)] = errorResponse();
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

/** Builds the document; src/worker/isolate.ts keeps the one an isolate builds (it depends only on the route table). */
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
    components: { schemas: componentSchemas(), securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}
