/**
 * JSON text serialized once and kept (the threshold read path caches each gate's answer as text, so a hot read does
 * no JSON.stringify), typed with the value it encodes: a handler that sends it still answers the type its route
 * declares (handle.ts).
 */
import type { Context, TypedResponse } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";

declare const encodes: unique symbol;

/** A string holding the JSON of a `T`. */
export type JsonText<T> = string & { readonly [encodes]?: T };

export const jsonText = <T>(value: T): JsonText<T> => JSON.stringify(value) as JsonText<T>;

/** Sends `text` as application/json, typed as `c.json(value, status)` would be. */
export function sendJsonText<T, S extends ContentfulStatusCode>(
  c: Context,
  text: JsonText<T>,
  status: S,
): Response & TypedResponse<JSONParsed<T>, S, "json"> {
  c.header("Content-Type", "application/json");
  return c.body(text, status) as Response & TypedResponse<never, S, "body"> as unknown as Response & TypedResponse<JSONParsed<T>, S, "json">;
}
