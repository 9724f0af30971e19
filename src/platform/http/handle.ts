/**
 * Registers the handler of an operation of the route table (src/contract/routes.ts), in the manner of
 * `@hono/zod-openapi`: everything the table says about the route is enforced here, once, so the OpenAPI document and
 * what the Worker does cannot disagree.
 *
 * - method, path and scope check come from the entry;
 * - path parameters are typed from the path template (`{id}`), and parsed by the route's own parsers where given;
 * - the query is checked strictly (query.ts: unknown or repeated names are a 400) and validated with the entry's
 *   schema, a JSON body read (bytes counted against MAX_SMALL_BODY_BYTES) and validated with its schema, both with
 *   our wording (validate.ts), and handed to the handler typed as the schemas' output;
 * - the handler must answer one of the entry's statuses with the body its schema declares: checked by the compiler,
 *   and at run time too when ENVIRONMENT is "test" (the test configuration sets it), so every test that calls a route
 *   also checks its answer against the OpenAPI document.
 *
 * A route whose body comes in several encodings (the calibration upload) reads its body and checks its query itself:
 * which query parameters it accepts depends on the body's content type.
 */
import type { Context, Hono, MiddlewareHandler, TypedResponse } from "hono";
import type { ResponseFormat } from "hono/types";
import type { StatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";
import type { z } from "zod";
import type { RouteSpec } from "../../contract";
import { requireScope } from "../auth-middleware";
import type { RouteEnv } from "../env";
import { MAX_SMALL_BODY_BYTES } from "../limits";
import { readJson } from "./body";
import { checkQueryNames } from "./query";
import { pathOf, validate } from "./validate";

/** Hono's form of an OpenAPI path template: `/v1/alerts/{id}` -> `/v1/alerts/:id`. */
export const honoPath = (path: string): string => path.replace(/\{(\w+)\}/gu, ":$1");

/** The parameter names of a path template: "/v1/alerts/{id}/resolve" -> "id". */
type ParamNames<P extends string> = P extends `${string}{${infer N}}${infer Rest}` ? N | ParamNames<Rest> : never;

/** A route's path parameters. */
export type Params<R extends RouteSpec> = { readonly [K in ParamNames<R["path"]>]: string };

/** A route's validated query (its schema's output); undefined when the route takes none. */
export type Query<R extends RouteSpec> = R extends { readonly query: infer Q extends z.ZodType } ? z.output<Q> : undefined;

/** A route's JSON body schema, when JSON is its only encoding. */
type JsonBodySchema<R extends RouteSpec> = R extends { readonly body: { readonly content: infer C } }
  ? keyof C extends "application/json"
    ? C[keyof C] extends infer S extends z.ZodType
      ? S
      : never
    : never
  : never;

/** A route's validated JSON body (its schema's output); undefined without one, or for a body of several encodings. */
export type Body<R extends RouteSpec> = [JsonBodySchema<R>] extends [never] ? undefined : z.output<JsonBodySchema<R>>;

/** What the handler is handed, validated. */
export interface Input<R extends RouteSpec> {
  readonly params: Params<R>;
  readonly query: Query<R>;
  readonly body: Body<R>;
}

type DeclaredStatus<R extends RouteSpec> = Extract<keyof R["responses"], StatusCode>;

/**
 * One declared answer: its status, and the JSON its schema declares (any body when the table gives no schema, or
 * for an answer that also has alternative media types, such as CSV of the same rows).
 */
type ReplyAt<X, S extends StatusCode> = X extends { readonly schema: infer T extends z.ZodType }
  ? TypedResponse<JSONParsed<z.output<T>>, S, "json"> | (X extends { readonly alternatives: object } ? TypedResponse<string, S, "body"> : never)
  : TypedResponse<unknown, S, ResponseFormat>;

/** What a route's handler may answer: `c.json(body, status)` with a status and body the route table declares. */
export type Reply<R extends RouteSpec> = Response & { [S in DeclaredStatus<R>]: ReplyAt<R["responses"][S], S> }[DeclaredStatus<R>];

export type RouteHandler<E extends RouteEnv<unknown>, R extends RouteSpec> = (c: Context<E>, input: Input<R>) => Reply<R> | Promise<Reply<R>>;

/** What the table does not say: our wording and limits of the route's input. */
export type HandleOptions<R extends RouteSpec> = ([JsonBodySchema<R>] extends [never]
  ? { readonly body?: never }
  : {
      /** How errors name the body: `invalid <body>: <path> <message>`. */
      readonly body: string;
      /** What a 413 suggests instead of a larger body. */
      readonly larger?: string;
    }) & {
  /** Parsers of path parameters: each returns the parameter or throws our error for a malformed one. */
  readonly params?: { readonly [K in ParamNames<R["path"]>]?: (raw: string) => string };
};

/** True for a route whose body has encodings other than JSON: it reads its body and checks its query itself. */
const readsOwnBody = (spec: RouteSpec): boolean => spec.body !== undefined && Object.keys(spec.body.content).some((t) => t !== "application/json");

/**
 * Checks an answer against the schema the route table declares for its status; throws a TypeError (a 500, so the
 * calling test fails) naming the first difference.
 */
export function checkReply(spec: RouteSpec, status: number, body: unknown): void {
  const declared = spec.responses[status];
  const route = `${spec.method.toUpperCase()} ${spec.path}`;
  if (declared === undefined) throw new TypeError(`${route} answered ${status}, which the route table does not declare`);
  if (declared.schema === undefined) return;
  const result = declared.schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new TypeError(`${route} answered ${status} with a body its declared schema refuses: ${pathOf(issue.path)} ${issue.message}`);
  }
}

async function checkResponse(spec: RouteSpec, res: Response): Promise<void> {
  const declared = spec.responses[res.status];
  // An alternative media type of a JSON answer (CSV of the same rows) has no schema to check; its type must be declared.
  const type = res.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
  if (declared?.alternatives !== undefined && type in declared.alternatives) return;
  const schema = declared?.schema;
  checkReply(spec, res.status, schema === undefined ? null : await res.clone().json());
}

/** A route with a JSON body needs its options (how errors name the body); others may leave them out. */
type HandleArgs<E extends RouteEnv<unknown>, R extends RouteSpec> = [JsonBodySchema<R>] extends [never]
  ? [fn: RouteHandler<E, R>] | [options: HandleOptions<R>, fn: RouteHandler<E, R>]
  : [options: HandleOptions<R>, fn: RouteHandler<E, R>];

/** Registers the handler of `spec` on `app`; the options supply the wording and parsers the route table does not hold. */
export function handle<D, R extends RouteSpec>(app: Hono<RouteEnv<D>>, spec: R, ...args: HandleArgs<RouteEnv<D>, R>): void {
  const [optionsOrFn, maybeFn] = args;
  const options = (typeof optionsOrFn === "function" ? {} : optionsOrFn) as {
    readonly body?: string;
    readonly larger?: string;
    readonly params?: Readonly<Record<string, ((raw: string) => string) | undefined>>;
  };
  const fn = (typeof optionsOrFn === "function" ? optionsOrFn : maybeFn) as RouteHandler<RouteEnv<D>, R>;
  const ownBody = readsOwnBody(spec);
  const accepted = spec.query ? Object.keys(spec.query.shape) : [];
  const jsonBody = ownBody ? undefined : spec.body;

  const middleware: MiddlewareHandler<RouteEnv<D>>[] = [];
  if (spec.scope !== null) middleware.push(requireScope(spec.scope));
  if (!ownBody) {
    middleware.push(async (c, next) => {
      checkQueryNames(c.req.url, accepted);
      await next();
    });
  }
  const handler = async (c: Context<RouteEnv<D>>): Promise<Response> => {
    const params: Record<string, string> = {};
    for (const [name, raw] of Object.entries(c.req.param() as Record<string, string>)) params[name] = options.params?.[name]?.(raw) ?? raw;
    const query = spec.query ? validate(spec.query, c.req.query(), "bad_request", "query parameters") : undefined;
    const body = jsonBody
      ? validate(
          jsonBody.content["application/json"] as z.ZodType,
          await readJson(c.req.raw, MAX_SMALL_BODY_BYTES, {
            allowEmpty: !jsonBody.required,
            ...(options.larger === undefined ? {} : { larger: options.larger }),
          }),
          "invalid_input",
          options.body ?? "request body",
        )
      : undefined;
    const res = await fn(c, { params, query, body } as Input<R>);
    if (c.env.ENVIRONMENT === "test") await checkResponse(spec, res);
    return res;
  };
  const [first, second] = middleware;
  const method = spec.method.toUpperCase();
  const path = honoPath(spec.path);
  if (second !== undefined) app.on(method, path, first!, second, handler);
  else if (first !== undefined) app.on(method, path, first, handler);
  else app.on(method, path, handler);
}
