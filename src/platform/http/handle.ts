/**
 * Registers the handler of an operation of the route table (src/contract/routes.ts), in the manner of
 * `@hono/zod-openapi`: everything the table says about the route is enforced here, once, so the OpenAPI document and
 * what the Worker does cannot disagree.
 *
 * - method, path and scope check come from the entry;
 * - path parameters are typed from the path template (`{id}`), and those the entry gives a form (`params`) checked
 *   against it: a value of another form names nothing and is a 404 in the contract's words (PARAM_NAMES), as an
 *   unknown one is, and the handler gets the form's output;
 * - the query is checked strictly (query.ts: unknown or repeated names are a 400) and validated with the entry's
 *   schema, a JSON body read (bytes counted against MAX_SMALL_BODY_BYTES) and validated with its schema, both with
 *   our wording (validate.ts), and handed to the handler typed as the schemas' output;
 * - the handler must answer one of the entry's statuses with the body its schema declares: checked by the compiler,
 *   and at run time too when ENVIRONMENT is "test" (the test configuration sets it), so every test that calls a route
 *   also checks its answer against the OpenAPI document: a body the schema refuses, a field it does not declare, and
 *   an error whose status the entry does not declare (declaredErrors) are a 500 there.
 *
 * A route whose body comes in several encodings (the calibration upload) reads its body and checks its query itself:
 * which query parameters it accepts depends on the body's content type.
 */
import type { Context, Hono, MiddlewareHandler, TypedResponse } from "hono";
import type { ResponseFormat } from "hono/types";
import type { StatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";
import type { z } from "zod";
import { PARAM_NAMES, pathParams, type RouteSpec } from "../../contract";
import { requireScope } from "../auth-middleware";
import type { RouteEnv } from "../env";
import { AppError, httpStatus } from "../errors";
import { shownId } from "../format";
import { MAX_SMALL_BODY_BYTES } from "../limits";
import { readJson } from "./body";
import { checkQueryNames } from "./query";
import { pathOf, validate } from "./validate";

/** Hono's form of an OpenAPI path template: `/v1/alerts/{id}` -> `/v1/alerts/:id`. */
export const honoPath = (path: string): string => path.replace(/\{(\w+)\}/gu, ":$1");

/** The parameter names of a path template: "/v1/alerts/{id}/resolve" -> "id". */
type ParamNames<P extends string> = P extends `${string}{${infer N}}${infer Rest}` ? N | ParamNames<Rest> : never;

/** The output of the form the entry gives path parameter `K`; a string for a parameter it gives none. */
type ParamValue<R extends RouteSpec, K extends string> = R extends { readonly params: infer P }
  ? K extends keyof P
    ? P[K] extends z.ZodType
      ? z.output<P[K]>
      : string
    : string
  : string;

/** A route's path parameters, checked against the forms its entry declares. */
export type Params<R extends RouteSpec> = { readonly [K in ParamNames<R["path"]>]: ParamValue<R, K> };

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

/** What the table does not say: our wording and limits of the route's JSON body. */
export type HandleOptions<R extends RouteSpec> = [JsonBodySchema<R>] extends [never]
  ? { readonly body?: never }
  : {
      /** How errors name the body: `invalid <body>: <path> <message>`. */
      readonly body: string;
      /** What a 413 suggests instead of a larger body. */
      readonly larger?: string;
    };

/** A path parameter's declared form, and what a value of it names (PARAM_NAMES). */
interface ParamForm {
  readonly schema: z.ZodType;
  readonly names: string;
}

/**
 * The forms the entry declares for its path parameters, each with what it names; throws (at registration, so at the
 * Worker's start and in every test) for a form named in no path parameter, or one the contract's PARAM_NAMES does not
 * word, which would otherwise answer a malformed value without our wording.
 */
export function paramForms(spec: RouteSpec): ReadonlyMap<string, ParamForm> {
  const route = `${spec.method.toUpperCase()} ${spec.path}`;
  const inPath = pathParams(spec.path);
  const forms = new Map<string, ParamForm>();
  for (const [name, schema] of Object.entries(spec.params ?? {})) {
    if (!inPath.includes(name)) throw new TypeError(`${route}: params declares a form for "${name}", which its path does not have`);
    const names = PARAM_NAMES.find((p) => p.form === schema)?.names;
    if (names === undefined) throw new TypeError(`${route}: the form of path parameter "${name}" is not in PARAM_NAMES (src/contract/routes.ts)`);
    forms.set(name, { schema, names });
  }
  return forms;
}

/** The path parameters, each checked against its declared form: a value of another form is a 404, as an unknown one. */
function checkParams(raw: Readonly<Record<string, string>>, forms: ReadonlyMap<string, ParamForm>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    const form = forms.get(name);
    if (form === undefined) {
      params[name] = value;
      continue;
    }
    const r = form.schema.safeParse(value);
    if (!r.success) throw new AppError("not_found", `${form.names} ${JSON.stringify(shownId(value))} does not exist`);
    params[name] = r.data;
  }
  return params;
}

/**
 * A route the table gives no body (a GET, DELETE /v1/webhooks/{id}, the delivery replay) refuses one with 400: data
 * sent there would be ignored, and a caller who sends it expects it to count. An empty body is no body. Reads at most
 * the first chunk that holds a byte, then cancels the rest.
 */
async function refuseBody(req: Request, spec: RouteSpec): Promise<void> {
  if (req.body === null) return;
  const reader = req.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value.byteLength > 0) throw new AppError("bad_request", `${spec.method.toUpperCase()} ${spec.path} takes no request body`);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** True for a route whose body has encodings other than JSON: it reads its body and checks its query itself. */
const readsOwnBody = (spec: RouteSpec): boolean => spec.body !== undefined && Object.keys(spec.body.content).some((t) => t !== "application/json");

/**
 * The error statuses every route of the kind of `spec` can answer, whatever its handler does, besides the entry's own
 * `errors`; the OpenAPI document declares them on every operation (src/reference/openapi.ts):
 *
 * - 400: an unknown or repeated query parameter, or malformed percent-encoding (query.ts), on every route;
 * - 401 and 403: the scope check, on every authenticated route;
 * - 400, 413, 415 and 422: a JSON body that broke off, is not JSON or repeats a key (400), is too large (413), is sent
 *   with another content type (415), or that its schema refuses or nests too deep (422) (body.ts, validate.ts);
 * - 404: a path parameter of another form than its entry declares (`params`), on every route with one;
 * - 503: on every route, the Worker's first middleware refuses to serve with an unsafe production configuration
 *   (`misconfigured`), and a D1 schema behind the code is `not_migrated` (src/worker/app.ts).
 */
export function handledErrors(spec: RouteSpec): number[] {
  const statuses = new Set<number>([400, 503]);
  if (spec.scope !== null) for (const s of [401, 403]) statuses.add(s);
  if (spec.body?.content["application/json"] !== undefined) for (const s of [400, 413, 415, 422]) statuses.add(s);
  if (spec.path.includes("{")) statuses.add(404);
  return [...statuses].sort((a, b) => a - b);
}

/** Every error status the route can answer: its entry's `errors` and those of its kind (handledErrors). */
export const declaredErrors = (spec: RouteSpec): number[] => [...new Set([...spec.errors, ...handledErrors(spec)])].sort((a, b) => a - b);

/**
 * The first key of `input` (at any depth) that `output`, what a schema made of it, does not have, as a path; null
 * when there is none. A plain z.object strips the keys it does not declare, so a field a handler sends by accident
 * passes safeParse: this finds it. Values a schema transformed into something that is not an object or an array are
 * not looked into.
 */
export function undeclaredKey(input: unknown, output: unknown, path: (string | number)[] = []): string | null {
  if (Array.isArray(input)) {
    if (!Array.isArray(output)) return null;
    for (let i = 0; i < Math.min(input.length, output.length); i++) {
      const found = undeclaredKey(input[i], output[i], [...path, i]);
      if (found !== null) return found;
    }
    return null;
  }
  if (!isRecord(input) || !isRecord(output)) return null;
  for (const [key, value] of Object.entries(input)) {
    if (!Object.hasOwn(output, key)) return pathOf([...path, key]);
    const found = undeclaredKey(value, output[key], [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Checks an answer against the schema the route table declares for its status; throws a TypeError (a 500, so the
 * calling test fails) naming the first difference: a body the schema refuses, or one with a field it does not declare.
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
  const extra = undeclaredKey(body, result.data);
  if (extra !== null) throw new TypeError(`${route} answered ${status} with a field its declared schema does not have: ${extra}`);
}

/**
 * Checks that an error the route raised has a status its entry declares (declaredErrors); throws a TypeError (a 500,
 * so the calling test fails) naming it otherwise.
 */
export function checkError(spec: RouteSpec, err: unknown): void {
  if (!(err instanceof AppError)) return;
  const status = httpStatus(err.code);
  if (!declaredErrors(spec).includes(status)) {
    throw new TypeError(
      `${spec.method.toUpperCase()} ${spec.path} answered ${status} ${err.code} (${err.message}), which the route table does not declare`,
    );
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

/** Registers the handler of `spec` on `app`; the options supply the body's wording the route table does not hold. */
export function handle<D, R extends RouteSpec>(app: Hono<RouteEnv<D>>, spec: R, ...args: HandleArgs<RouteEnv<D>, R>): void {
  const [optionsOrFn, maybeFn] = args;
  const options = (typeof optionsOrFn === "function" ? {} : optionsOrFn) as {
    readonly body?: string;
    readonly larger?: string;
  };
  const fn = (typeof optionsOrFn === "function" ? optionsOrFn : maybeFn) as RouteHandler<RouteEnv<D>, R>;
  const forms = paramForms(spec);
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
    if (c.env.ENVIRONMENT !== "test") return answer(c);
    try {
      return await answer(c);
    } catch (e) {
      checkError(spec, e);
      throw e;
    }
  };
  const answer = async (c: Context<RouteEnv<D>>): Promise<Response> => {
    const params = checkParams(c.req.param() as Record<string, string>, forms);
    const query = spec.query ? validate(spec.query, c.req.query(), "bad_request", "query parameters") : undefined;
    if (spec.body === undefined) await refuseBody(c.req.raw, spec);
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
