/**
 * The shapes of the server's answers that the read commands print: the fields each command reads, with their types.
 * Whatever answered 2xx at --url must be such an answer: a proxy or another service that answers 200 with JSON of
 * another shape (`{"threshold": "oops"}`) is a failure, exit 1, not a crash while printing it, nor exit 0 with its body
 * passed on under --json.
 *
 * The shapes are loose on purpose: fields the CLI does not read are not checked, and names (a policy's kind, an
 * alert's status) are any string, so a newer server's additions still print. The contract (src/contract) is the
 * full shape.
 */
import { z } from "zod";
import { EXIT } from "./decision";
import { CliError } from "./http";

const nullableNumber = z.number().nullable();
const optionalText = z.string().nullable().optional();

/** A calibration's gate as a promotion's candidate or a shadow is served (src/contract ServedGate). */
const ServedGateAnswer = z.object({
  calibration_id: z.string(),
  index_version: z.string(),
  threshold: nullableNumber,
  expected_drop_rate: z.number(),
  guards: z.object({ min_keep: z.number(), max_keep: nullableNumber }),
  abstain_below: nullableNumber,
});

export const ThresholdAnswer = z.object({
  index: z.string(),
  embedding: z.string(),
  reranker: z.string(),
  threshold: nullableNumber,
  calibration_id: z.string(),
  index_version: z.string(),
  policy: z.object({ kind: z.string() }),
  score_scale: z.string(),
  expected_drop_rate: z.number(),
  fitted_at: z.string(),
  activated_at: z.string(),
  guards: z.object({ min_keep: z.number(), max_keep: nullableNumber }),
  abstain_below: nullableNumber.optional(),
  // a server from before promotions sends neither: none
  rollout: z
    .object({ promotion_id: z.string(), step: z.number(), percent_bp: z.number(), state: z.string(), candidate: ServedGateAnswer })
    .nullable()
    .optional(),
  shadows: z.array(ServedGateAnswer.extend({ sample_rate: z.number() })).optional(),
});

export const HistoryAnswer = z.object({
  gate_id: z.string(),
  calibrations: z.array(
    z.object({
      id: z.string(),
      index_version: z.string(),
      threshold: nullableNumber,
      expected_drop_rate: z.number(),
      n: z.number(),
      created_at: z.string(),
      shift: z.object({ alert: z.boolean().optional(), alert_id: optionalText }).nullable().optional(),
    }),
  ),
  activations: z.array(
    z.object({
      activated_at: z.string(),
      calibration_id: z.string(),
      index_version: z.string(),
      actor: z.string(),
      previous_calibration_id: optionalText,
      reason: optionalText,
    }),
  ),
  next_cursor: optionalText,
});

const Warnings = z.array(z.object({ code: z.string(), message: z.string() }));

export const ActivationAnswer = z.object({
  activation: z.object({ id: z.string(), actor: z.string(), previous_calibration_id: optionalText, reason: optionalText }).nullable(),
  calibration: z.object({
    id: z.string(),
    index: z.string(),
    embedding: z.string(),
    reranker: z.string(),
    index_version: z.string(),
    threshold: nullableNumber,
    expected_drop_rate: z.number(),
  }),
  shift: z.object({ reason: z.string(), previous_calibration_id: z.string(), alert_id: optionalText }).nullable(),
  warnings: Warnings,
  dry_run: z.boolean(),
  already_current: z.boolean().optional(),
});

export const AlertsAnswer = z.object({
  alerts: z.array(
    z.object({
      id: z.string(),
      status: z.string(),
      kind: z.string(),
      gate: z.object({ index: z.string(), embedding: z.string(), reranker: z.string() }),
      occurrences: z.number(),
      last_seen_at: z.string(),
      summary: z.string(),
    }),
  ),
  next_cursor: optionalText,
});

/** A page of gates; a server before pages sends no next_cursor. */
export const GatesAnswer = z.object({
  gates: z.array(
    z.object({
      gate_id: z.string(),
      index: z.string(),
      embedding: z.string(),
      reranker: z.string(),
      current_calibration_id: optionalText,
      active: z.array(
        z.object({
          index_version: z.string(),
          threshold: nullableNumber,
          expected_drop_rate: z.number(),
          calibration_id: z.string(),
          activated_at: z.string(),
        }),
      ),
    }),
  ),
  next_cursor: optionalText,
});

/** A rate test's numbers the monitor command prints beside the drop rate (abstention, guard binding). */
const RateAnswer = z.object({
  observed: nullableNumber,
  expected: z.number(),
  band: z.object({ lo: z.number(), hi: z.number() }),
  alarm: z.boolean(),
  expected_window: nullableNumber.optional(),
  band_window: z.object({ lo: z.number(), hi: z.number() }).nullable().optional(),
});

const MonitorWindowAnswer = z.object({
  role: z.string(),
  calibration_id: z.string(),
  index_version: z.string(),
  started_at: z.string(),
  queries: z.number(),
  candidates: z.number(),
  unscored_candidates: z.number().optional(),
  alarms: z.number(),
  drop_rate: z.object({
    observed: nullableNumber,
    expected: z.number(),
    band: z.object({ lo: z.number(), hi: z.number() }),
    expected_window: nullableNumber.optional(),
    band_window: z.object({ lo: z.number(), hi: z.number() }).nullable().optional(),
  }),
  // absent in windows recorded before abstention and guards
  empty_context: RateAnswer.nullable().optional(),
  empty_context_level: z.number().optional(),
  abstention: RateAnswer.nullable().optional(),
  abstention_queries: z.number().optional(),
});

const CoverageNumbersAnswer = {
  queries: z.number(),
  observed: nullableNumber,
  confidence_sequence_95: z.tuple([z.number(), z.number()]),
  log_evidence: z.number(),
  log_threshold: z.number(),
  since: z.string(),
};

/** A recall calibration's coverage test (src/contract MonitorCoverage), and the test that alarmed while its alarm stands. */
const MonitorCoverageAnswer = z.object({
  ...CoverageNumbersAnswer,
  role: z.string(),
  calibration_id: z.string(),
  index_version: z.string(),
  coverage: z.string(),
  target: z.number(),
  expected: z.number(),
  tolerated: z.number(),
  armed: z.boolean(),
  not_armed_reason: optionalText,
  queries_without_relevant: z.number(),
  alarm: z.boolean(),
  alarms: z.number(),
  alarmed: z
    .object({ ...CoverageNumbersAnswer, at: z.string() })
    .nullable()
    .optional(),
});

export const MonitorAnswer = z.object({
  gate_id: z.string(),
  state: z.object({
    state: z.string(),
    since: optionalText,
    kinds: z.array(z.string()),
    alerts: z.array(z.object({ kind: z.string(), alert_id: optionalText })),
    queries_to_arm: nullableNumber.optional(),
  }),
  windows: z.array(MonitorWindowAnswer),
  history: z.array(MonitorWindowAnswer),
  // absent from a server before judgments
  recall: z.array(MonitorCoverageAnswer).optional(),
});

/**
 * `body` when `shape` accepts it, as the server sent it (not zod's copy, which drops the fields it does not check, so
 * --json passes every field on); else the failure of an answer that is not scoregate's: exit 1, `invalid_response`,
 * naming `what` the answer should have been.
 */
export function checkedAnswer<S extends z.ZodType>(shape: S, body: unknown, status: number, what: string): z.infer<S> {
  if (!shape.safeParse(body).success)
    throw new CliError(`the server answered ${status} with a body that is not ${what}`, EXIT.failure, "invalid_response", [
      "is --url pointing at a scoregate server?",
    ]);
  return body as z.infer<S>;
}
