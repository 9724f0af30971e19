/**
 * Candidates without a score, in their own words. When a RAG service's reranker fails for some candidates (a timeout
 * for part of a batch, an adapter reading the wrong score key, scores arriving as strings), the clients pass them
 * without a score and report them as the fifth count of their query (contract/monitoring.ts QueryCounts). The drift
 * tests read the scored candidates only, so an outage does not read as "the drop rate fell"; this module makes it
 * loud instead: an unscored_candidates alert once the window's unscored share of the reported candidates is over
 * UNSCORED_ALERT_SHARE, over at least UNSCORED_ALERT_MIN_CANDIDATES of them. Pure: the monitor (gate-monitor/monitor.ts)
 * raises it for served traffic, once a window (a new window, the next day, raises it again while the outage lasts:
 * the open alert then counts another occurrence).
 */
import type { UnscoredAlertDetails, WindowStatus } from "../contract";
import { countText, percentTenths } from "../platform/format";
import type { WindowState } from "./window";

/**
 * An unscored_candidates alert is raised when more than this share of the candidates services reported in a gate's
 * current drift window had no score (the `unscored` count of an observation's queries): a reranker timing out for part
 * of its batches, an adapter reading the wrong score key, scores sent as strings. The drift tests read the scored
 * candidates only, so without this alert such an outage would be silent (the rule below).
 */
export const UNSCORED_ALERT_SHARE = 0.05;

/**
 * ... once the window holds at least this many reported candidates (scored and unscored): a few candidates without a
 * score in a quiet window are not an outage.
 */
export const UNSCORED_ALERT_MIN_CANDIDATES = 1_000;

/** A window's reported candidates (scored and unscored) and the unscored share of them (null when none reported). */
export function unscoredShare(w: Pick<WindowStatus, "candidates" | "unscored_candidates">): { reported: number; share: number | null } {
  const unscored = w.unscored_candidates ?? 0;
  const reported = w.candidates + unscored;
  return { reported, share: reported > 0 ? unscored / reported : null };
}

/** Whether the window, with its latest batch, should raise its unscored_candidates alert (at most once a window). */
export function unscoredAlarm(w: WindowState): boolean {
  if (w.unscored_alerted_at !== undefined) return false;
  const { reported, share } = unscoredShare({ candidates: w.sums.candidates, unscored_candidates: w.unscored ?? 0 });
  return reported >= UNSCORED_ALERT_MIN_CANDIDATES && share !== null && share > UNSCORED_ALERT_SHARE;
}

const pct = percentTenths;

/** The alert's sentence: what the share means and what the drift tests read meanwhile. */
export function unscoredSummary(status: WindowStatus): string {
  const { reported, share } = unscoredShare(status);
  return `${pct(share ?? 0)} of the ${countText(reported)} candidates services reported in this window had no score (${countText(status.unscored_candidates ?? 0)} unscored, over the ${pct(UNSCORED_ALERT_SHARE)} tolerated): a reranker failing or timing out, a wrong score key, scores sent as strings; the drop-rate test reads the ${countText(status.candidates)} scored ones`;
}

/** The alert's numbers. */
export function unscoredDetails(status: WindowStatus): UnscoredAlertDetails {
  const { reported, share } = unscoredShare(status);
  return {
    calibration_id: status.calibration_id,
    window_started_at: status.started_at,
    unscored_candidates: status.unscored_candidates ?? 0,
    scored_candidates: status.candidates,
    reported_candidates: reported,
    unscored_share: share,
    alert_share: UNSCORED_ALERT_SHARE,
    min_candidates: UNSCORED_ALERT_MIN_CANDIDATES,
  };
}
