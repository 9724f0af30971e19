/**
 * Judgments: sampled labelled production queries (POST /v1/judgments), and the anytime-valid coverage test of each
 * recall calibration they feed.
 */
import { z } from "zod";
import { BatchTarget, CoverageNotion, Score } from "./common";
import { MAX_CANDIDATES_PER_QUERY, MAX_JUDGED_QUERIES } from "./limits";

// ---------------------------------------------------------------------------------------------------------------
// Judgments: sampled labelled production queries, for the coverage of recall gates
// ---------------------------------------------------------------------------------------------------------------

/** One judged production query: its candidates' scores, their labels, and the threshold the service applied. */
export const JudgedQuery = z.strictObject({
  scores: z
    .array(Score, { error: "must be an array of numbers" })
    .min(1, { error: "a query must have at least one candidate score" })
    .max(MAX_CANDIDATES_PER_QUERY, { error: `a query may have at most ${MAX_CANDIDATES_PER_QUERY} candidates` }),
  /** One label per candidate: 0/1, or graded with the batch's relevant_at. */
  relevance: z.array(Score, { error: "must be an array of numbers" }),
  /** The threshold applied (null: no gate). Omitted: the calibration's own. */
  threshold: Score.nullable().optional(),
});

export const JudgmentBatch = z
  .strictObject({
    ...BatchTarget,
    /** Graded labels: relevant iff label >= relevant_at. Omitted: labels must be 0 or 1. */
    relevant_at: z.number({ error: "must be a finite number" }).optional(),
    queries: z
      .array(JudgedQuery)
      .min(1, { error: "must not be empty" })
      .max(MAX_JUDGED_QUERIES, { error: `must hold at most ${MAX_JUDGED_QUERIES} queries: send several batches` }),
  })
  .refine((b) => b.calibration_id !== undefined || (b.embedding !== undefined && b.reranker !== undefined), {
    error: "is required, or name the gate instead (embedding and reranker, optionally index)",
    path: ["calibration_id"],
  });
export type JudgmentBatch = z.infer<typeof JudgmentBatch>;

/**
 * The coverage test that alarmed, as it stood at its alarm: the test then restarts on fresh judgments, so these are
 * the numbers that raised the recall_drift alert. `since` when that test began, `at` when it alarmed.
 */
export const AlarmedCoverage = z.object({
  at: z.string(),
  since: z.string(),
  queries: z.number().int(),
  covered: z.number(),
  observed: z.number().nullable(),
  confidence_sequence_95: z.tuple([z.number(), z.number()]),
  log_evidence: z.number(),
  log_threshold: z.number(),
});
export type AlarmedCoverage = z.infer<typeof AlarmedCoverage>;

/** The anytime-valid coverage test of one recall calibration, since the last alarm (or since judgments began). */
export const CoverageStatus = z.object({
  calibration_id: z.string(),
  index_version: z.string(),
  coverage: CoverageNotion,
  target: z.number(),
  /**
   * Where the gate's coverage is centred (the guaranteed bound without ties at the threshold; with ties, the share of
   * labelled calibration queries it covers, which is higher) and the lowest coverage the test tolerates (the centre
   * less the tolerance or the calibration's own noise, from the exact law of the achieved coverage).
   */
  expected: z.number(),
  tolerated: z.number(),
  /** False when the calibration is too small to bound its own coverage within 25 points: the test never alarms. */
  armed: z.boolean(),
  not_armed_reason: z.enum(["calibration_too_small"]).nullable(),
  /** Judged queries with a relevant candidate (the units), their covered sum, and judged queries without one. */
  queries: z.number().int(),
  covered: z.number(),
  queries_without_relevant: z.number().int(),
  batches: z.number().int(),
  observed: z.number().nullable(),
  /** 95 % confidence sequence of the coverage: valid at every moment it is read. */
  confidence_sequence_95: z.tuple([z.number(), z.number()]),
  log_evidence: z.number(),
  log_threshold: z.number(),
  alarm: z.boolean(),
  alarms: z.number().int(),
  since: z.string(),
  /**
   * While the gate's recall_drift alarm stands (GET /v1/monitor, /metrics): the test that alarmed, as it stood then;
   * the fields above are the restarted test's, on the judgments since (`since`). null otherwise; absent in a
   * judgment's answer.
   */
  alarmed: AlarmedCoverage.nullable().optional(),
});
export type CoverageStatus = z.infer<typeof CoverageStatus>;

export const JudgmentAccepted = z.object({
  accepted: z.boolean(),
  duplicate: z.boolean(),
  gate_id: z.string(),
  calibration_id: z.string(),
  recall: CoverageStatus,
  alerts: z.array(z.string()),
});
