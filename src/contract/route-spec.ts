/**
 * What an entry of the route table is (src/contract/routes.ts): its method, path, group, scope, request and response
 * specs, and the helpers the per-feature tables share.
 */
import type { z } from "zod";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "./limits";

/** Token scopes; they nest: admin includes calibrate includes read. */
export type Scope = "read" | "calibrate" | "admin";
export const SCOPES: readonly Scope[] = ["read", "calibrate", "admin"];

export type Method = "get" | "post" | "patch" | "delete";

/**
 * The groups of the API reference, in the order it shows them (OpenAPI `tags`): the reference at /docs opens the first
 * group and lists the others by name, each expanded on demand, so a reader lands on the calibrations a rebuild
 * pipeline uploads rather than on a page of every operation (all of them rendered at once is about 22,000 elements).
 */
export const ROUTE_TAGS = {
  calibrations: { name: "Calibrations", description: "Upload score samples, fit gates, and choose which calibration a gate serves" },
  serving: { name: "Serving", description: "What RAG services read: a gate's threshold, and its changes pushed as they happen" },
  monitoring: {
    name: "Monitoring",
    description: "What RAG services report from production (per-query counts, judged queries), and the drift it shows",
  },
  alerts: { name: "Alerts", description: "Drift, shifts and uncalibrated requests, with every occurrence's numbers" },
  webhooks: { name: "Webhooks", description: "Where alerts are delivered, and each delivery" },
  promotions: { name: "Shadows and promotions", description: "Shadow evaluation on live traffic and guarded, progressive promotion" },
  service: { name: "Service", description: "Health, this document, and Prometheus metrics" },
} as const;
export type RouteTag = keyof typeof ROUTE_TAGS;

/**
 * A request body content type: a schema (JSON), or a description of a non-JSON encoding, with the query parameters
 * that encoding carries (a float32 upload's fields; the OpenAPI document says they go with that content type only).
 */
export type BodyContent = z.ZodType | { readonly description: string; readonly format?: "binary"; readonly query?: z.ZodObject };

export interface ResponseSpec {
  readonly description: string;
  /** Headers of this answer a client reads (name -> what it holds), documented in the OpenAPI document. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The JSON body's schema; absent for bodies that are not JSON (see `contentType`) or empty. */
  readonly schema?: z.ZodType;
  /** Non-JSON response media type (for example Prometheus text). */
  readonly contentType?: string;
  /** Other media types of the same answer besides the schema's JSON, chosen by the request (type -> description). */
  readonly alternatives?: Readonly<Record<string, string>>;
  /** A `text/event-stream` answer's frames, by SSE event name (the OpenAPI document describes each one). */
  readonly events?: Readonly<Record<string, SseFrameSpec>>;
}

/** One kind of Server-Sent Events frame: what it means, the schema of its `data:` JSON, what `id:` holds (absent: none). */
export interface SseFrameSpec {
  readonly description: string;
  readonly data: z.ZodType;
  readonly id?: string;
}

export interface RequestBodySpec {
  readonly required: boolean;
  readonly content: Readonly<Record<string, BodyContent>>;
}

export interface RouteSpec {
  readonly method: Method;
  /** OpenAPI path template: `/v1/calibrations/{id}`. */
  readonly path: string;
  /** Its group in the API reference. */
  readonly tag: RouteTag;
  /** The least scope that may call it; null for public routes. */
  readonly scope: Scope | null;
  readonly summary: string;
  /**
   * The form of path parameters that have one (a calibration id, a gate id), for the OpenAPI document: a value of
   * another form names nothing and is answered as an unknown one (404), whether handle() refuses it against this form
   * (platform/http/handle.ts; its noun in PARAM_NAMES) or the lookup finds nothing. Parameters not named are any string.
   */
  readonly params?: Readonly<Record<string, z.ZodType>>;
  readonly query?: z.ZodObject;
  /** Request headers the route reads; `maxLength` and `pattern` where the server bounds them. */
  readonly headers?: readonly {
    readonly name: string;
    readonly maxLength?: number;
    readonly pattern?: string;
    readonly description: string;
  }[];
  readonly body?: RequestBodySpec;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Error statuses the route answers besides those every route of its kind answers (handledErrors, platform/http/handle.ts). */
  readonly errors: readonly number[];
}

/** A JSON request body; the schema's type is kept, so a handler's input is typed from the table (platform/http/handle.ts). */
export const json = <S extends z.ZodType>(schema: S, required = true) =>
  ({ required, content: { "application/json": schema } }) as const satisfies RequestBodySpec;

/** The path parameter names of a path template (`/v1/alerts/{id}` -> ["id"]). */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/gu)].map((m) => m[1]!);
}

/** The request header that makes a change run once per key. */
export const IDEMPOTENCY_KEY = "Idempotency-Key";

/**
 * The Idempotency-Key header of a change that runs once per key (promotion starts, overrides, shadow changes, webhook
 * endpoints; an upload names its own): the same key and request replay the first answer.
 */
export const IDEMPOTENCY_KEY_HEADER = [
  {
    name: IDEMPOTENCY_KEY,
    maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
    description: "replays the first response to a retried change (the same key with another request: 422 idempotency_mismatch)",
  },
] as const;
