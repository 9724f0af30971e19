/**
 * Helpers for route tests inside workerd: call the Worker's default export, with tokens from vitest.config.ts.
 */
import { exports } from "cloudflare:workers";
import { expect, vi } from "vitest";
import type { z } from "zod";
import type { ErrorResponse, ROUTES } from "../../src/contract";

export const TOKENS = {
  read: "test-read",
  calibrate: "test-calibrate",
  admin: "test-admin",
} as const;

const worker = (exports as unknown as { default: Fetcher }).default;

export interface CallOptions {
  token?: string | null;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/** Calls the Worker. `token` defaults to the admin token; null sends none. */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? TOKENS.admin : options.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return worker.fetch(`http://scoregate.test${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

// ---------------------------------------------------------------------------------------------------------------
// Typed responses: callJson infers the body type from the route table (src/contract/routes.ts) by method and path,
// so a test that reads a field the API does not return fails to type-check. Path parameters (`{id}`) match one
// segment; the query string is ignored.
// ---------------------------------------------------------------------------------------------------------------

type Routes = typeof ROUTES;
type Segments<P extends string> = P extends `${infer Head}/${infer Tail}` ? [Head, ...Segments<Tail>] : [P];
type SegmentsMatch<A extends string[], B extends string[]> = A extends [infer a extends string, ...infer ra extends string[]]
  ? B extends [infer b extends string, ...infer rb extends string[]]
    ? b extends `{${string}}`
      ? SegmentsMatch<ra, rb>
      : a extends b
        ? SegmentsMatch<ra, rb>
        : false
    : false
  : B extends []
    ? true
    : false;
type WithoutQuery<P extends string> = P extends `${infer Path}?${string}` ? Path : P;
/** The route-table entry a (method, path) pair calls, or never. */
export type RouteOf<M extends string, P extends string> = {
  [K in keyof Routes]: Lowercase<M> extends Routes[K]["method"]
    ? SegmentsMatch<Segments<WithoutQuery<P>>, Segments<Routes[K]["path"]>> extends true
      ? K
      : never
    : never;
}[keyof Routes];
type SchemaAt<R, S extends number> = R extends { responses: infer Rs }
  ? S extends keyof Rs
    ? Rs[S] extends { schema: infer X extends z.ZodType }
      ? z.infer<X>
      : Rs[S] extends { contentType: string }
        ? unknown
        : null
    : never
  : never;
/** What `callJson(method, path, status)` returns: the route's response body for a 2xx, the error envelope otherwise. */
export type ResponseOf<M extends string, P extends string, S extends number> = S extends 200 | 201 | 202 | 304
  ? [RouteOf<M, P>] extends [never]
    ? unknown
    : SchemaAt<Routes[RouteOf<M, P>], S>
  : ErrorResponse;

/** Calls and parses a JSON response, asserting the status; the result is typed from the route table. */
export async function callJson<M extends string, P extends string, S extends number, T = ResponseOf<M, P, S>>(
  method: M,
  path: P,
  status: S,
  options: CallOptions = {},
): Promise<T> {
  const res = await call(method, path, options);
  const text = await res.text();
  if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status}: ${text}`);
  return (text === "" ? null : JSON.parse(text)) as T;
}

/**
 * DELETE /v1/webhooks/{id} as the admin alice, with the line the Worker logs for operators captured and checked
 * instead of printed (a passing run prints nothing of its own).
 */
export async function deleteWebhook(id: string): Promise<void> {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    await callJson("DELETE", `/v1/webhooks/${id}`, 200);
    expect(log.mock.calls).toEqual([[`webhook endpoint ${id} deleted by alice`]]);
  } finally {
    log.mockRestore();
  }
}

/**
 * The answer of POST /v1/observations for a batch counted before the answer (direct mode), narrowed from the
 * contract's union; fails when the batch was queued instead.
 */
export function counted<T extends { queued: boolean }>(accepted: T): Extract<T, { queued: false }> {
  if (accepted.queued) throw new Error(`expected a counted batch, got a queued one: ${JSON.stringify(accepted)}`);
  return accepted as Extract<T, { queued: false }>;
}

/** A unique gate per test (storage is isolated per file, not per test). */
let counter = 0;
export function uniqueGate(label = "gate"): { index: string; embedding: string; reranker: string } {
  counter += 1;
  return { index: `idx-${label}-${counter}`, embedding: "BAAI/bge-m3@v1", reranker: `BAAI/bge-reranker-v2-m3@${label}-${counter}` };
}

export const qs = (params: Record<string, string | number | boolean | undefined>): string =>
  new URLSearchParams(
    Object.entries(params)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  ).toString();

/** Deterministic scores 0..1 without a PRNG: a low-discrepancy sequence (golden-ratio fractional parts). */
export function spreadScores(n: number, offset = 0, scale = 1): number[] {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) out.push(offset + scale * ((i * 0.6180339887498949) % 1));
  return out;
}

/** Scores cut into consecutive queries of m (the last may be shorter), for a `queries` upload. */
export function asQueries(scores: readonly number[], m = 20): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < scores.length; i += m) out.push(scores.slice(i, i + m));
  return out;
}

/** Reads an error answer: its status and code must be these, and its wording ours, never the validation library's. */
export async function expectError(res: Response, status: number, code: string): Promise<{ code: string; message: string; details?: any }> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const body = JSON.parse(text);
  expect(body.error.code, text).toBe(code);
  expect(text).not.toMatch(/Invalid input|expected string, received|received undefined|Too small|Too big/u);
  return body.error;
}
