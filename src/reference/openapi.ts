/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas of the contract (z.toJSONSchema), so
 * it cannot drift from what the routes register and validate. Served at GET /openapi.json; docs/api.md is the prose
 * companion.
 */
import { z } from "zod";
import {
  API_VERSION,
  API_VERSION_HEADER,
  ErrorResponse,
  GateEvent,
  GateEventKind,
  GateHeartbeat,
  IDEMPOTENCY_KEY,
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

/** A Retry-After value as the server sends it: whole seconds. */
const SECONDS = { type: "string", pattern: "^[1-9][0-9]*$" } as const;
/**
 * Response headers some answers of every route of a kind carry (src/worker/app.ts sets them), named in
 * `components.headers`: the API version on every answer, Retry-After where waiting helps, Idempotent-Replayed on a
 * replayed change, Allow on a 405.
 */
const HEADERS = {
  ApiVersion: {
    description: "the version of the HTTP API this answer speaks (on every answer, errors and 304s included)",
    required: true,
    schema: { type: "string", const: API_VERSION },
  },
  RetryAfter429: {
    description: "seconds to wait before subscribing again (too_many_subscribers); meanwhile poll GET /v1/threshold",
    required: true,
    schema: SECONDS,
  },
  RetryAfter409: {
    description: "with idempotency_in_progress only: seconds to wait before retrying the same request with the same key",
    schema: SECONDS,
  },
  RetryAfter503: {
    description: "with storage_unavailable only: seconds to wait before retrying (not with misconfigured or not_migrated)",
    schema: SECONDS,
  },
  IdempotentReplayed: {
    description: "true when this answer replays the first response to the same Idempotency-Key and request; absent otherwise",
    schema: { type: "string", const: "true" },
  },
  Allow: {
    description: "the methods the path takes (HEAD beside GET)",
    required: true,
    schema: { type: "string" },
  },
} as const;
const headerRef = (id: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${id}` });

/** The name of each shared header on the wire. */
const HEADER_NAMES: Readonly<Record<keyof typeof HEADERS, string>> = {
  ApiVersion: API_VERSION_HEADER,
  RetryAfter429: "Retry-After",
  RetryAfter409: "Retry-After",
  RetryAfter503: "Retry-After",
  IdempotentReplayed: "Idempotent-Replayed",
  Allow: "Allow",
};
const shared = (...ids: (keyof typeof HEADERS)[]) => Object.fromEntries(ids.map((id) => [HEADER_NAMES[id], headerRef(id)]));

const errorContent = () => ({ "application/json": { schema: schema(ErrorResponse, "output") } });

/** An error answer of `status`, with the headers it may carry (Retry-After on a 409 only where a change is keyed). */
function errorResponse(status: number, keyed: boolean): object {
  const retry =
    status === 429 ? shared("RetryAfter429") : status === 503 ? shared("RetryAfter503") : status === 409 && keyed ? shared("RetryAfter409") : {};
  return { description: "error", headers: { ...shared("ApiVersion"), ...retry }, content: errorContent() };
}

/**
 * The answer to a method a known path does not take (src/worker/not-found.ts). OpenAPI declares answers per operation,
 * and this one answers the operations a path does not have, so it is a named response (`components.responses`) that
 * the document's description points to.
 */
const METHOD_NOT_ALLOWED = {
  description: "method_not_allowed: the path exists, the method is not one it takes; Allow lists those it does",
  headers: shared("Allow", "ApiVersion"),
  content: errorContent(),
};

/** The default of a query parameter as it is sent (a query value is a string): a missing parameter reads as it. */
function wireDefault(s: z.ZodType): object {
  if (!(s instanceof z.ZodDefault)) return {};
  const value: unknown = s.def.defaultValue;
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? { default: String(value) } : {};
}

function queryParams(obj: z.ZodObject, only?: string): object[] {
  return Object.entries(obj.shape).map(([name, s]) => {
    const required = !(s as z.ZodType).safeParse(undefined).success;
    return {
      name,
      in: "query",
      // a parameter of one body encoding: no request of another type takes it (400), so none is required of all
      required: only === undefined ? required : false,
      ...(only === undefined
        ? {}
        : { description: `with Content-Type: ${only} only (any query parameter with another type is a 400)${required ? "; required then" : ""}` }),
      schema: { ...schema(s as z.ZodType, "input"), ...wireDefault(s as z.ZodType) },
    };
  });
}

/** Query parameters that go with one content type of the body (a float32 upload's fields). */
const bodyQueryParams = (spec: RouteSpec): object[] =>
  Object.entries(spec.body?.content ?? {}).flatMap(([type, c]) =>
    c instanceof z.ZodType || c.query === undefined ? [] : queryParams(c.query, type),
  );

function operation(spec: RouteSpec): object {
  const parameters = [
    ...pathParams(spec.path).map((name) => {
      const form = spec.params?.[name];
      return { name, in: "path", required: true, schema: form === undefined ? { type: "string" } : schema(form, "input") };
    }),
    ...(spec.query ? queryParams(spec.query) : []),
    ...bodyQueryParams(spec),
    ...(spec.headers ?? []).map((h) => ({
      name: h.name,
      in: "header",
      required: false,
      description: h.description,
      schema: {
        type: "string",
        ...(h.maxLength !== undefined ? { maxLength: h.maxLength } : {}),
        ...(h.pattern !== undefined ? { pattern: h.pattern } : {}),
      },
    })),
  ];
  const keyed = (spec.headers ?? []).some((h) => h.name === IDEMPOTENCY_KEY);
  const responses: Record<string, object> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const headers = {
      headers: {
        ...Object.fromEntries(Object.entries(r.headers ?? {}).map(([name, description]) => [name, { description, schema: { type: "string" } }])),
        ...(keyed ? shared("IdempotentReplayed") : {}),
        ...shared("ApiVersion"),
      },
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
  for (const status of declaredErrors(spec)) responses[String(status)] = errorResponse(status, keyed);
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
      description:
        "Calibrated, served and watched retrieval score cutoffs. Scopes nest: read < calibrate < admin. " +
        "A method a path does not take is answered 405 (components.responses.MethodNotAllowed), with Allow.",
    },
    tags: Object.values(ROUTE_TAGS).map(({ name, description }) => ({ name, description })),
    components: {
      schemas: componentSchemas(),
      responses: { MethodNotAllowed: METHOD_NOT_ALLOWED },
      headers: HEADERS,
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    paths,
  };
}
