import { z } from "zod";

/**
 * Every error code the API answers with. The HTTP status of each is fixed (src/platform/errors.ts maps them in one
 * exhaustive switch); docs/api.md#errors explains when each occurs.
 */
export const ERROR_CODES = [
  "malformed_json",
  "bad_request",
  "incomplete_body",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "uncalibrated",
  "conflict",
  "idempotency_in_progress",
  "too_many_subscribers",
  "payload_too_large",
  "unsupported_media_type",
  "invalid_input",
  "too_few_scores",
  "too_few_labelled_queries",
  "too_few_answerable_queries",
  "target_unreachable",
  "float32_precision",
  "unknown_reference",
  "idempotency_mismatch",
  "batch_mismatch",
  "misconfigured",
  "not_migrated",
  "storage_unavailable",
  "internal",
] as const;

export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** One validation problem: where (a JSON path such as `scores[3]` or `policy.target`) and what. */
export const ErrorDetail = z.object({ path: z.string(), message: z.string() });
export type ErrorDetail = z.infer<typeof ErrorDetail>;

/**
 * The error envelope of every non-2xx JSON response. `details` is a list of field problems, or an object with the
 * numbers that explain the refusal (for example `minimum_n` of `too_few_scores`).
 */
export const ErrorResponse = z.object({
  error: z.object({ code: ErrorCode, message: z.string(), details: z.unknown().optional() }),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;
