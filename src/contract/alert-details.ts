import { z } from "zod";
import type { AlertKind } from "./alerts";
import { ShiftReport } from "./calibrations";
import { CoverageStatus } from "./judgments";
import { WindowStatus } from "./monitoring";
import { PromotionStopDetails } from "./promotions";

// ---------------------------------------------------------------------------------------------------------------
// An alert's details (and each occurrence's), by kind: what the producers build and the dashboard's alert page reads.
// Alert.details stays "any keys" on the wire (alerts stored by earlier versions hold older shapes); these schemas
// type the producers (a renamed field fails the typecheck) and the page's layouts.
// ---------------------------------------------------------------------------------------------------------------

/**
 * A drift window's alarm (drop_rate_drift, empty_context, abstention_drift): the window as it stood at the alarm,
 * without an earlier alarm's numbers (`alarmed`). Raised by the gate monitor (src/monitoring/gate-monitor/monitor.ts).
 */
export const WindowAlertDetails = z.object({ window: WindowStatus });
export type WindowAlertDetails = z.infer<typeof WindowAlertDetails>;

/** A recall coverage test's alarm (recall_drift): the test as it stood at the alarm, without an earlier alarm's. */
export const RecallAlertDetails = z.object({ recall: CoverageStatus });
export type RecallAlertDetails = z.infer<typeof RecallAlertDetails>;

/** Candidates reported without a score (unscored_candidates, src/monitoring/unscored.ts): the window's counts. */
export const UnscoredAlertDetails = z.object({
  calibration_id: z.string(),
  window_started_at: z.string(),
  unscored_candidates: z.number().int(),
  scored_candidates: z.number().int(),
  reported_candidates: z.number().int(),
  /** unscored / reported; the share and the reported candidates the alert needs (UNSCORED_ALERT_SHARE, _MIN_CANDIDATES). */
  unscored_share: z.number().nullable(),
  alert_share: z.number(),
  min_candidates: z.number().int(),
});
export type UnscoredAlertDetails = z.infer<typeof UnscoredAlertDetails>;

/**
 * An activation that shifted the served gate (rebuild_shift, src/alerts/shift-alert.ts): the shift report, the
 * activated calibration's index version and threshold, and the activation.
 */
export const ShiftAlertDetails = z.object({
  shift: ShiftReport,
  index_version: z.string(),
  threshold: z.number().nullable(),
  activation_id: z.string(),
});
export type ShiftAlertDetails = z.infer<typeof ShiftAlertDetails>;

/**
 * A token that asked for an uncalibrated gate's threshold (uncalibrated_request, src/alerts/uncalibrated-alert.ts):
 * the index version it named, the token's name and client, in how many minutes of the window, and what the 404 told
 * it may have meant: the gate's active versions (`active_index_versions`) or calibrated gates of similar names.
 */
export const UncalibratedAlertDetails = z.object({
  index_version: z.string().nullable(),
  token: z.string(),
  client: z.string().nullable(),
  minutes: z.number().int(),
  window_minutes: z.number().int(),
  active_index_versions: z.array(z.string()).optional(),
  suggestions: z.array(z.object({ index: z.string(), embedding: z.string(), reranker: z.string() })).optional(),
});
export type UncalibratedAlertDetails = z.infer<typeof UncalibratedAlertDetails>;

/** Each alert kind's details schema. */
export const ALERT_DETAILS = {
  rebuild_shift: ShiftAlertDetails,
  drop_rate_drift: WindowAlertDetails,
  empty_context: WindowAlertDetails,
  uncalibrated_request: UncalibratedAlertDetails,
  recall_drift: RecallAlertDetails,
  abstention_drift: WindowAlertDetails,
  unscored_candidates: UnscoredAlertDetails,
  promotion_paused: PromotionStopDetails,
  promotion_rolled_back: PromotionStopDetails,
} as const satisfies Record<AlertKind, z.ZodType>;

/** The details of an alert of kind K, as its producer builds them. */
export type AlertDetailsOf<K extends AlertKind> = z.infer<(typeof ALERT_DETAILS)[K]>;
