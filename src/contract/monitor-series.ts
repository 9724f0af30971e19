/** The drop rate over time (GET /v1/monitor/series): hourly buckets of each calibration's counts and evidence. */
import { z } from "zod";
import { GateRef } from "./common";

// ---------------------------------------------------------------------------------------------------------------
// The drop rate over time: hourly buckets of each calibration's counts and evidence (GET /v1/monitor/series)
// ---------------------------------------------------------------------------------------------------------------

/** An ISO 8601 instant in a query string ("2026-12-02T10:00:00Z"). */
const Instant = z.iso.datetime({ offset: true, error: "must be an ISO 8601 date and time, like 2026-12-02T10:00:00Z" });

export const SeriesQuery = GateRef.extend({
  /** The first and last instants wanted (default: the whole retention, up to now). */
  from: Instant.optional(),
  to: Instant.optional(),
  /** "json" (default) or "csv" (one row per bucket, the JSON bucket's fields as columns, the band as band_lo, band_hi). */
  format: z.enum(["json", "csv"], { error: 'must be "json" or "csv"' }).optional(),
});

/**
 * The traffic a series bucket counted, as the monitor received it: `served` (the gate's own traffic, a promotion's
 * control arm and unassigned queries included: one drift window), `shadow` (a shadow's mirrored queries), `candidate`
 * (a promotion's candidate arm). Each has its own drift detector, so each has its own hours; a candidate arm has one
 * detector per promotion step, so an hour in which a step advanced sums both steps' batches, with the expectation and
 * evidence of the last. The hour in which the monitor started keeping traffic apart has an earlier row without a
 * traffic beside the new one. Not GET /v1/monitor's
 * `role`: whether served traffic was the gate's current calibration is D1's to say, and changes after the hour.
 */
export const SeriesTraffic = z.enum(["served", "shadow", "candidate"]);
export type SeriesTraffic = z.infer<typeof SeriesTraffic>;

/** One hour of one calibration's production counts of one traffic, with its detector's evidence at its end. */
export const SeriesBucket = z.object({
  calibration_id: z.string(),
  /**
   * Whose traffic the hour counted. Absent on hours recorded before the monitor kept each traffic's hours apart: such
   * an hour holds the calibration's batches of every traffic together (a shadow promoted within it, a candidate
   * completed), its expected rate, band and evidence those of its last batch's detector.
   */
  traffic: SeriesTraffic.optional(),
  index_version: z.string(),
  /** The bucket's hour: [start, end). */
  start: z.string(),
  end: z.string(),
  batches: z.number().int(),
  /** Queries with at least one candidate, their candidates and the candidates the gate dropped. */
  queries: z.number().int(),
  candidates: z.number().int(),
  /** Candidates reported without a score (not in `candidates`, which the tests read); 0 in hours recorded before they were counted. */
  unscored_candidates: z.number().int(),
  dropped: z.number().int(),
  /** Queries that lost every candidate (empty context), and queries that lost at least one (the gate acted). */
  empty_queries: z.number().int(),
  gated_queries: z.number().int(),
  /** dropped / candidates (null without candidates). */
  drop_rate: z.number().nullable(),
  /** The calibration's expected drop rate and the tolerance band the detector tests, as they were in this hour. */
  expected: z.number(),
  band: z.object({ lo: z.number(), hi: z.number() }),
  /** The drop-rate detector's ln evidence after the bucket's last batch and its highest in the bucket; the alarm level. */
  log_evidence: z.number(),
  max_log_evidence: z.number(),
  log_threshold: z.number(),
  /** The empty-context test's ln evidence after the last batch (null when the calibration has no such test). */
  empty_context_log_evidence: z.number().nullable(),
  /**
   * Queries that said whether they abstained (clients that apply abstention report [m, d, below, abstained]), those
   * that abstained, and abstained / abstention_queries (null when none said). 0 in hours recorded before they were
   * counted.
   */
  abstention_queries: z.number().int(),
  abstained_queries: z.number().int(),
  abstention_rate: z.number().nullable(),
  /**
   * Queries where the gate's min_keep guard bound: the threshold alone left fewer than min(min_keep, candidates), read
   * from the query's `below`. 0 for a gate without min_keep, for clients that do not report `below`, and in hours
   * recorded before they were counted.
   */
  guard_bound_queries: z.number().int(),
  /** Alarms raised in this hour, by test, and the time of the last one of any test (each alarm restarts the detector of the test that fired). */
  drop_rate_alarms: z.number().int(),
  empty_context_alarms: z.number().int(),
  abstention_alarms: z.number().int(),
  last_alarm_at: z.string().nullable(),
});
export type SeriesBucket = z.infer<typeof SeriesBucket>;

/** An activation in the series' range: from then on the gate served this calibration. */
export const SeriesActivation = z.object({
  at: z.string(),
  calibration_id: z.string(),
  index_version: z.string(),
  previous_calibration_id: z.string().nullable(),
});

export const MonitorSeries = z.object({
  gate_id: z.string(),
  from: z.string(),
  to: z.string(),
  bucket_seconds: z.number().int(),
  retention_days: z.number(),
  /** Oldest first (in one hour: by calibration, then traffic); hours without observations have no bucket. */
  buckets: z.array(SeriesBucket),
  /** The gate's activations in [from, to], oldest first (at most the newest MAX_SERIES_ACTIVATIONS). */
  activations: z.array(SeriesActivation),
});
export type MonitorSeries = z.infer<typeof MonitorSeries>;
