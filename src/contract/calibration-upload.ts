import { z } from "zod";
import { atMostRate, GateRef, Id, Policy, Score, ScoreScale, Scores } from "./common";
import { DEFAULT_SHIFT_TOLERANCE, MAX_ABSOLUTE_TOLERANCE, MAX_CANDIDATES_PER_QUERY, MAX_QUERIES, MAX_RELATIVE_TOLERANCE } from "./limits";

// ---------------------------------------------------------------------------------------------------------------
// Calibration upload
// ---------------------------------------------------------------------------------------------------------------

/**
 * A drift tolerance: absolute, in rate units (0.005 = half a point), or relative to the calibration's expected rate
 * (`{"relative": 0.5}`: half of it), so a 1 % gate can alarm when it stops dropping.
 */
export const Tolerance = z.union(
  [
    z
      .number({ error: "must be a number in 0..0.5 or {relative: 0..1}" })
      .min(0, { error: "must be at least 0" })
      .max(MAX_ABSOLUTE_TOLERANCE, atMostRate(MAX_ABSOLUTE_TOLERANCE)),
    z.strictObject({
      relative: z
        .number()
        .gt(0, { error: "must be above 0" })
        .max(MAX_RELATIVE_TOLERANCE, { error: `must be at most ${MAX_RELATIVE_TOLERANCE}` }),
    }),
  ],
  // the members' messages do not show through a union: what is accepted, said once
  { error: `must be a number from 0 to ${MAX_ABSOLUTE_TOLERANCE}, or {"relative": r} with 0 < r <= ${MAX_RELATIVE_TOLERANCE}` },
);
export type Tolerance = z.infer<typeof Tolerance>;

/**
 * Whether an upload is served (docs/api.md, "Activation"): "auto" (the default) serves it only when that is safe (the
 * gate serves nothing yet, or the rebuild decision is "equivalent", and the expected drop rate is within
 * AUTO_ACTIVATE_MAX_TARGET_MISS of the target); true serves it whatever the decision; false stores it unserved.
 */
export const ActivateMode = z.union([z.literal("auto"), z.boolean()], { error: 'must be "auto", true or false' });
export type ActivateMode = z.infer<typeof ActivateMode>;

/** Everything but the scores; shared by the JSON body, the NDJSON header line and the float32 query string. */
export const CalibrationMeta = GateRef.extend({
  index_version: Id,
  policy: Policy,
  activate: ActivateMode.default("auto"),
  /** Compute the whole answer (fit, intervals, shift report, decision) and store, activate and raise nothing. */
  dry_run: z.boolean({ error: "must be true or false" }).default(false),
  score_scale: ScoreScale.default("unbounded"),
  /** Rebuild shift alert tolerance, in drop-rate units (default 0.02 = 2 points). */
  shift_tolerance: z.number().min(0).max(1, atMostRate(1)).default(DEFAULT_SHIFT_TOLERANCE),
  /** Tolerance of the production drop-rate band (default: the server's, 2 points). */
  drift_tolerance: Tolerance.optional(),
  /** Tolerance of the production empty-context band (default: the server's, 2 points). */
  empty_context_tolerance: Tolerance.optional(),
  /**
   * Graded relevance labels: a candidate is relevant iff its label >= relevant_at. Omitted: labels must be 0 or 1.
   */
  relevant_at: z.number({ error: "must be a finite number" }).optional(),
});
export type CalibrationMeta = z.infer<typeof CalibrationMeta>;

export const Query = z
  .array(Score, { error: "must be an array of numbers" })
  .min(1, { error: "a query must have at least one candidate score" })
  .max(MAX_CANDIDATES_PER_QUERY, { error: `a query may have at most ${MAX_CANDIDATES_PER_QUERY} candidates` });

/**
 * An NDJSON query line as an object: one query's scores with its relevance labels, its answerable flag, or both
 * (a flag without labels is what certified abstention needs when relevance was never judged candidate by candidate).
 */
export const LabelledQueryLine = z.strictObject({
  scores: Query,
  relevance: z.array(Score, { error: "must be an array of numbers" }).optional(),
  /** Whether the corpus holds a good answer to this query; omitted: iff it has a relevant candidate. */
  answerable: z.boolean({ error: "must be true or false" }).optional(),
});

export const CalibrationUpload = z.strictObject({
  ...CalibrationMeta.shape,
  scores: Scores.optional(),
  queries: z
    .array(Query, { error: "must be an array of arrays of numbers" })
    .min(1, { error: "must not be empty" })
    .max(MAX_QUERIES, { error: `must hold at most ${MAX_QUERIES} queries` })
    .optional(),
  /** Relevance labels parallel to `queries`: one array per query, one label per candidate (0/1, or graded with relevant_at). */
  relevance: z
    .array(z.array(Score, { error: "must be an array of numbers" }), { error: "must be an array of arrays of numbers" })
    .max(MAX_QUERIES, { error: `must hold at most ${MAX_QUERIES} queries` })
    .optional(),
  /**
   * Per query: does the corpus hold a good answer (for abstention with `{"alpha"}`)? Parallel to `queries`. Omitted:
   * a query is answerable iff it has a relevant candidate.
   */
  answerable: z
    .array(z.boolean({ error: "must be true or false" }), { error: "must be an array of true/false" })
    .max(MAX_QUERIES, { error: `must hold at most ${MAX_QUERIES} queries` })
    .optional(),
});
export type CalibrationUpload = z.infer<typeof CalibrationUpload>;

/**
 * A number in a query string: a JSON-style decimal literal. An empty value is an error, never 0 (z.coerce would turn
 * `target=` into 0, silently deploying "keep everything").
 */
const QueryNumber = z
  .string()
  .regex(/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/u, { error: "must be a number" })
  .transform(Number)
  .pipe(z.number({ error: "must be a finite number" }));

/**
 * A number in the query string with what it must be, for the OpenAPI document (the query string's pattern cannot say a
 * range; the same checks as the JSON body's fields apply once the policy is built).
 */
const queryNumber = (description: string) => QueryNumber.meta({ description });

/**
 * The content types an NDJSON upload may be sent as (the names NDJSON and JSON Lines go by); the upload reads them
 * alike (calibrations/upload.ts reads this list; the OpenAPI document declares each).
 */
export const NDJSON_MEDIA_TYPES = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"] as const;

/** Query parameters of a float32 (application/octet-stream) upload: the policy is flattened. Unknown names are refused. */
export const BinaryUploadQuery = z.strictObject({
  ...GateRef.shape,
  index_version: Id,
  kind: z.enum(["drop_rate", "carry"], { error: 'must be "drop_rate" or "carry"' }),
  target: queryNumber("kind drop_rate: the share of candidates to drop, a number in [0, 1)").optional(),
  threshold: queryNumber("kind carry: the old threshold whose drop rate is carried (omitted: the reference calibration's own)").optional(),
  /** "active" or a calibration id. */
  reference: z.string().min(1).meta({ description: 'kind carry: "active" or a calibration id' }).optional(),
  activate: z.enum(["auto", "true", "false"], { error: 'must be "auto", "true" or "false"' }).default("auto"),
  dry_run: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).default("false"),
  score_scale: ScoreScale.default("unbounded"),
  shift_tolerance: queryNumber("the rebuild decision's tolerance in drop-rate units, a number in [0, 1]")
    .pipe(z.number().min(0).max(1, atMostRate(1)))
    .default(DEFAULT_SHIFT_TOLERANCE),
  /** Absolute drift tolerances, or relative to the expected rate (`*_relative`); give at most one of each pair. */
  drift_tolerance: queryNumber(`a number in [0, ${MAX_ABSOLUTE_TOLERANCE}]`).optional(),
  drift_tolerance_relative: queryNumber(`a share of the expected rate, in (0, ${MAX_RELATIVE_TOLERANCE}]`).optional(),
  empty_context_tolerance: queryNumber(`a number in [0, ${MAX_ABSOLUTE_TOLERANCE}]`).optional(),
  empty_context_tolerance_relative: queryNumber(`a share of the expected rate, in (0, ${MAX_RELATIVE_TOLERANCE}]`).optional(),
  /** Split the scores into consecutive queries of this many candidates (per-query statistics). */
  candidates_per_query: queryNumber(`a whole number from 1 to ${MAX_CANDIDATES_PER_QUERY}`)
    .pipe(
      z
        .number()
        .int({ error: "must be a whole number" })
        .min(1, { error: "must be at least 1" })
        .max(MAX_CANDIDATES_PER_QUERY, { error: `must be at most ${MAX_CANDIDATES_PER_QUERY}` }),
    )
    .optional(),
  /** The policy's guards (they need candidates_per_query) and its abstention rate (float32 uploads carry no labels). */
  min_keep: queryNumber(`a whole number from 0 to ${MAX_CANDIDATES_PER_QUERY}`).optional(),
  max_keep: queryNumber(`a whole number from 1 to ${MAX_CANDIDATES_PER_QUERY}, at least min_keep`).optional(),
  abstention_rate: queryNumber("the share of queries that abstain, a number in [0, 1)").optional(),
});
