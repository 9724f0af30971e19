/**
 * Domain errors: one tagged union of codes and ONE exhaustive mapping to HTTP status.
 * Expected outcomes (bad input, unknown ids, too few scores) are thrown as `AppError` from services and validators;
 * programmer errors stay RangeError/TypeError and become a 500 `internal` without leaking details.
 * The codes and the envelope are part of the API contract (src/contract/errors.ts).
 */
import type { ErrorCode, ErrorDetail, ErrorResponse } from "../contract";

export type { ErrorCode, ErrorDetail };

/** The single exhaustive mapping from domain error to HTTP status. */
export function httpStatus(code: ErrorCode): 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 503 {
  switch (code) {
    case "malformed_json":
    case "bad_request":
    case "incomplete_body":
      return 400;
    case "unauthorized":
      return 401;
    case "forbidden":
      return 403;
    case "not_found":
    case "uncalibrated":
      return 404;
    case "method_not_allowed":
      return 405;
    case "conflict":
    case "idempotency_in_progress":
      return 409;
    case "payload_too_large":
      return 413;
    case "unsupported_media_type":
      return 415;
    case "invalid_input":
    case "too_few_scores":
    case "too_few_labelled_queries":
    case "too_few_answerable_queries":
    case "target_unreachable":
    case "float32_precision":
    case "unknown_reference":
    case "idempotency_mismatch":
    case "batch_mismatch":
      return 422;
    case "too_many_subscribers":
      return 429;
    case "misconfigured":
    case "not_migrated":
    case "storage_unavailable":
      return 503;
    case "internal":
      return 500;
    default: {
      const unreachable: never = code;
      throw new TypeError(`unmapped error code ${String(unreachable)}`);
    }
  }
}

/** A domain error; `details` carries per-field problems or the numbers that explain the refusal. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly ErrorDetail[] | Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: readonly ErrorDetail[] | Readonly<Record<string, unknown>>) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.details = details;
  }
}

/** The envelope of an AppError (contract/errors.ts ErrorResponse). */
export function errorBody(err: AppError): ErrorResponse {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details === undefined ? {} : { details: err.details }),
    },
  };
}

export const invalid = (message: string, details?: readonly ErrorDetail[] | Readonly<Record<string, unknown>>): AppError =>
  new AppError("invalid_input", message, details);
