/**
 * zod validation that always produces our error envelope (the default hook leaks raw zod output).
 */
import type { z } from "zod";
import { AppError, type ErrorCode, type ErrorDetail } from "../errors";

/** At most this many field problems are listed in one error. */
export const MAX_ERROR_DETAILS = 20;

export function pathOf(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(body)" : out;
}

/**
 * Parses `value` with `schema`; on failure throws AppError(code) listing each problem as {path, message}.
 * `code` is invalid_input (422) for bodies and bad_request (400) for query strings.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, code: ErrorCode, what: string): z.infer<S> {
  let result: z.ZodSafeParseResult<z.infer<S>>;
  try {
    result = schema.safeParse(value) as z.ZodSafeParseResult<z.infer<S>>;
  } catch (e) {
    // zod collects one issue per bad element; hundreds of thousands of them overflow the stack. Bad input is never a 500.
    if (e instanceof RangeError) throw new AppError(code, `invalid ${what}: too many invalid values to list`);
    throw e;
  }
  if (result.success) return result.data;
  const details: ErrorDetail[] = result.error.issues.slice(0, MAX_ERROR_DETAILS).map((i) => ({
    path: pathOf(i.path),
    message: i.code === "unrecognized_keys" ? `unknown field(s): ${i.keys.join(", ")}` : i.message,
  }));
  const first = details[0]!;
  throw new AppError(code, `invalid ${what}: ${first.path} ${first.message}`, details);
}
