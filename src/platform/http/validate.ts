/**
 * zod validation that always produces our error envelope (the default hook leaks raw zod output).
 */
import type { z } from "zod";
import { AppError, type ErrorCode, type ErrorDetail } from "../errors";
import { countText } from "../format";
import { nearest } from "./query";

/** At most this many field problems are listed in one error. */
export const MAX_ERROR_DETAILS = 20;
/** At most this many field problems are spelled out in the error's message; `details` lists the rest. */
export const MAX_MESSAGE_PROBLEMS = 3;

/** Unknown fields an error names, the rest counted ("and 59,990 more"). */
export const MAX_LISTED_UNKNOWN_KEYS = 10;

export function pathOf(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(body)" : out;
}

type Issue = z.core.$ZodRawIssue;

/** "1 entry", "2 entries": `many` is the plural form when adding "s" does not make it. */
const plural = (n: number | bigint, one: string, many = `${one}s`): string => `${countText(n)} ${n === 1 || n === 1n ? one : many}`;

/** zod's names of the types it expects, in our words where "a <name>" does not read ("a int", "a tuple"). */
const TYPE_WORDS: Record<string, string> = {
  array: "an array",
  object: "an object",
  int: "a whole number",
  tuple: "an array",
  record: "an object",
  null: "null",
  nan: "NaN",
  bigint: "a whole number",
};

/**
 * Our wording for every issue a schema has no message of its own for, so no raw zod phrasing ("Invalid input:
 * expected string, received undefined") reaches a user. A missing field always says "is required".
 */
function wording(iss: Issue): string {
  switch (iss.code) {
    case "invalid_type":
      return iss.input === undefined ? "is required" : `must be ${TYPE_WORDS[iss.expected] ?? `a ${iss.expected}`}`;
    case "too_small": {
      const min = iss.minimum as number;
      if (iss.origin === "array" || iss.origin === "set")
        return min === 1 ? "must not be empty" : `must have at least ${plural(min, "entry", "entries")}`;
      if (iss.origin === "string") return min === 1 ? "must not be empty" : `must be at least ${plural(min, "character")}`;
      return `must be ${iss.inclusive === false ? "greater than" : "at least"} ${min}`;
    }
    case "too_big": {
      const max = iss.maximum as number;
      if (iss.origin === "array" || iss.origin === "set") return `must have at most ${plural(max, "entry", "entries")}`;
      if (iss.origin === "string") return `must be at most ${plural(max, "character")}`;
      return `must be ${iss.inclusive === false ? "less than" : "at most"} ${max}`;
    }
    case "invalid_format":
      return "is not in the expected format";
    case "not_multiple_of":
      return `must be a multiple of ${String(iss.divisor)}`;
    case "unrecognized_keys":
      return `unknown field(s): ${iss.keys.join(", ")}`;
    case "invalid_union":
      return "does not match any accepted form";
    case "invalid_key":
    case "invalid_element":
      return "is invalid";
    case "invalid_value":
      return `must be ${iss.values.length === 1 ? JSON.stringify(iss.values[0]) : `one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`}`;
    default:
      return "is invalid";
  }
}

/**
 * Parses `value` with `schema`; on failure throws AppError(code) listing each problem as {path, message}.
 * `code` is invalid_input (422) for bodies and bad_request (400) for query strings.
 */
export function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code: ErrorCode,
  what: string,
  /** The names the caller sent, for a value built from them (a float32 upload's query parameters: `policy.min_keep` is `min_keep`). */
  renamePath: (path: string) => string = (path) => path,
): z.infer<S> {
  let result: z.ZodSafeParseResult<z.infer<S>>;
  try {
    // reportInput lets `wording` tell a missing field from a wrong type; inputs are never copied into the error.
    result = schema.safeParse(value, { error: wording, reportInput: true }) as z.ZodSafeParseResult<z.infer<S>>;
  } catch (e) {
    // zod collects one issue per bad element; hundreds of thousands of them overflow the stack. Bad input is never a 500.
    if (e instanceof RangeError) throw new AppError(code, `invalid ${what}: too many invalid values to list`);
    throw e;
  }
  if (result.success) return result.data;
  const details: ErrorDetail[] = result.error.issues.slice(0, MAX_ERROR_DETAILS).map((i) => ({
    path: renamePath(pathOf(i.path)),
    // A missing field says so even where the schema words its type error ("must be a finite number").
    message:
      i.code === "unrecognized_keys"
        ? unknownFields(i.keys, fieldNamesAt(schema, i.path))
        : (i.code === "invalid_type" || i.code === "invalid_union") && i.input === undefined
          ? "is required"
          : i.message,
  }));
  throw new AppError(
    code,
    sentenceOf(result.error.issues[0]) ?? `invalid ${what}: ${problemsSentence(details, result.error.issues.length)}`,
    details,
  );
}

/**
 * The sentence a schema's own check gives its whole error (`params: { sentence }` of a custom issue: a problem of
 * several fields together, such as a gate named twice, that reads badly as `invalid <what>: <path> <message>`);
 * undefined for any other issue.
 */
function sentenceOf(issue: z.core.$ZodIssue | undefined): string | undefined {
  if (issue?.code !== "custom") return undefined;
  const sentence = (issue.params as { sentence?: unknown } | undefined)?.sentence;
  return typeof sentence === "string" ? sentence : undefined;
}

const UNKNOWN_FIELDS = "unknown field(s): ";

/** "unknown field(s): embeding (did you mean embedding?)" when a known name is a plausible typo of an unknown one. */
function unknownFields(keys: readonly string[], known: readonly string[]): string {
  // named up to MAX_LISTED_UNKNOWN_KEYS, the rest counted: a body of 60,000 made-up keys answered a 938 KB error
  const listed = keys.slice(0, MAX_LISTED_UNKNOWN_KEYS);
  const guesses = listed.flatMap((k) => {
    const guess = nearest(k, known);
    return guess === null ? [] : [guess];
  });
  const more = keys.length - listed.length;
  return `${UNKNOWN_FIELDS}${listed.join(", ")}${more > 0 ? ` and ${countText(more)} more` : ""}${guesses.length > 0 ? ` (did you mean ${guesses.join(", ")}?)` : ""}`;
}

/** The zod definition fields walked to find an object's names (zod's own `_zod.def`, stable across zod 4). */
interface SchemaDef {
  readonly type?: string;
  readonly shape?: Readonly<Record<string, unknown>>;
  readonly innerType?: unknown;
  readonly in?: unknown;
  readonly element?: unknown;
  readonly options?: readonly unknown[];
}
const defOf = (schema: unknown): SchemaDef | undefined => (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;

/** How deep fieldNamesAt follows wrappers and fields before it gives up (request schemas nest a few levels). */
const MAX_SCHEMA_WALK = 64;

/**
 * The field names of the object schema at `path`, through optional, nullable, default, pipe and array wrappers; for
 * a union (a policy's kinds), the names of all its object options, so `taget` still finds `target`. None where the
 * path reaches anything else (then no guess is made).
 */
function fieldNamesAt(schema: unknown, path: readonly PropertyKey[], depth = 0): string[] {
  let current: unknown = schema;
  let rest = [...path];
  for (let step = depth; step < MAX_SCHEMA_WALK; step++) {
    const def = defOf(current);
    if (def === undefined) return [];
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === "pipe") current = def.in;
    else if (def.type === "union" && def.options !== undefined) {
      return [...new Set(def.options.flatMap((o) => fieldNamesAt(o, rest, step + 1)))];
    } else if (def.type === "array" && typeof rest[0] === "number") [current, rest] = [def.element, rest.slice(1)];
    else if (def.type === "object" && def.shape !== undefined) {
      if (rest.length === 0) return Object.keys(def.shape);
      const key = rest[0];
      if (typeof key !== "string" || !(key in def.shape)) return [];
      [current, rest] = [def.shape[key], rest.slice(1)];
    } else return [];
  }
  return [];
}

/**
 * The first few problems in words, then how many more `details` holds, so a request missing two fields is not
 * fixed one field at a time ("embedding is required; reranker is required", not "embedding is required").
 */
export function problemsSentence(details: readonly ErrorDetail[], total: number): string {
  // a problem of the whole body ("(body)": unknown fields) reads without its path, a nested object's unknown fields
  // as "unknown field(s) in policy: ..." (the object is not the subject of the sentence as a field is)
  const shown = details
    .slice(0, MAX_MESSAGE_PROBLEMS)
    .map((d) =>
      d.path === pathOf([])
        ? d.message
        : d.message.startsWith(UNKNOWN_FIELDS)
          ? `unknown field(s) in ${d.path}: ${d.message.slice(UNKNOWN_FIELDS.length)}`
          : `${d.path} ${d.message}`,
    );
  const rest = total - shown.length;
  if (rest <= 0) return shown.join("; ");
  const where = total > details.length ? `details lists the first ${details.length}` : "listed in details";
  return `${shown.join("; ")}; ${plural(rest, "more problem")} (${where})`;
}
