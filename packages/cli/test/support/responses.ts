/**
 * Real answers of the local worker (test/fixtures/responses.json, written by test/fixtures/generate.mjs), each checked
 * against the contract's zod schema when loaded: a stub server that serves them gives the CLI the contract's real
 * response shape and units, and a stale file fails here instead of passing on numbers the server no longer sends.
 */
import { readFileSync } from "node:fs";
import type { z } from "zod";
import { CalibrationCreated, ErrorResponse, MonitorStatus, ThresholdResponse } from "../../../../src/contract";

interface Recorded {
  status: number;
  body: unknown;
}

const recorded = JSON.parse(readFileSync(new URL("../fixtures/responses.json", import.meta.url), "utf8")) as Record<string, Recorded>;

/** The recorded body after checking it with `schema`; the body as the server sent it, not zod's parsed copy. */
function checked<S extends z.ZodType>(name: string, schema: S, status: number): z.infer<S> {
  const r = recorded[name];
  if (r === undefined) throw new Error(`test/fixtures/responses.json has no ${name}: rerun test/fixtures/generate.mjs`);
  if (r.status !== status) throw new Error(`${name}: recorded status ${r.status}, expected ${status}`);
  const parsed = schema.safeParse(r.body);
  if (!parsed.success) throw new Error(`${name} no longer matches the contract (rerun test/fixtures/generate.mjs): ${parsed.error.message}`);
  return structuredClone(r.body) as z.infer<S>;
}

export type Created = z.infer<typeof CalibrationCreated>;

/** A fresh copy of each recorded answer (tests may change their copy). */
export const responses = {
  /** The walk-through's v1: a gate's first calibration (no shift). */
  first: () => checked("first", CalibrationCreated, 201),
  /** The walk-through's v2 with activate "auto": the old gate's drop rate moved from 22 % to 59 %; stored, not served. */
  shifted: () => checked("shifted", CalibrationCreated, 201),
  /** The same v2 as a dry run: nothing stored, would not be served. */
  dryRun: () => checked("dry_run", CalibrationCreated, 200),
  equivalent: () => checked("equivalent", CalibrationCreated, 201),
  inconclusive: () => checked("inconclusive", CalibrationCreated, 201),
  /** 3 scores at target 0.01 (expected 25 %) over a served gate: stored, not served. */
  targetMissed: () => checked("target_missed", CalibrationCreated, 201),
  /** A first calibration with guards (min_keep 3, max_keep 15) and an abstention rate of 5 %, queries of 1 to 20. */
  guarded: () => checked("guarded", CalibrationCreated, 201),
  /** Relevance labels (140 of 200 queries answerable), min_keep 1 and abstention for alpha 0.1. */
  labelled: () => checked("labelled", CalibrationCreated, 201),
  /** A recall gate (0.9, any_relevant) on graded labels (relevant_at 2), 40 of 240 queries without a relevant candidate, ties. */
  recall: () => checked("recall", CalibrationCreated, 201),
  /**
   * GET /v1/monitor of that recall gate after judged queries whose coverage fell (50 judged, 18 covered): in alarm
   * (recall_drift), its coverage test restarted on 8 judged queries since (7 covered; 2 more without a relevant one).
   */
  monitorRecall: () => checked("monitor_recall", MonitorStatus, 200),
  /** A recall target of 0.99 on 17 labelled queries (3 more without a relevant candidate): 99 are needed. */
  tooFewLabelledQueries: () => checked("too_few_labelled_queries", ErrorResponse, 422),
  /** max_keep 5 on queries of 20 candidates: a 5 % target is out of reach (lowest reachable 74.9 %). */
  targetUnreachableGuards: () => checked("target_unreachable_guards", ErrorResponse, 422),
  threshold: () => checked("threshold", ThresholdResponse, 200),
  tooFewScores: () => checked("too_few_scores", ErrorResponse, 422),
  invalidInput: () => checked("invalid_input", ErrorResponse, 422),
  uncalibrated: () => checked("uncalibrated", ErrorResponse, 404),
};
