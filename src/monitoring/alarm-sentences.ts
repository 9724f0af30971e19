/**
 * The sentences an alert of a window's rate test says (drop_rate_drift, empty_context, abstention_rate: the alert's
 * `summary`, also the Slack text): what raised the alarm first, the rate over the queries the detector's evidence
 * weighs against the expectation and band it tests, then the window's own rate.
 */
import type { Expectation } from "../calibrations/expectation";
import type { WindowStatus } from "../contract";
import { countText, percentTenths } from "../platform/format";

const pct = (x: number | null): string => (x === null ? "n/a" : percentTenths(x));

/**
 * What the sentence compares the window's observed rate with: for a stratified test the expectation and band for the
 * window's own query sizes (expected_window), which the observed rate is over; the detector's (its queries since its
 * reset) where the window has none (a pooled test, where they are the same; a status recorded before it).
 */
function comparedWith(t: WindowStatus["drop_rate"]): { expected: number; band: { lo: number; hi: number }; own: boolean } {
  return t.expected_window != null && t.band_window != null
    ? { expected: t.expected_window, band: t.band_window, own: true }
    : { expected: t.expected, band: t.band, own: false };
}

/**
 * What a rate's expectation is, in an alert sentence. A stratified test (a guarded gate's drop rate, abstention with
 * the calibration's strata) expects the calibration's per-size rates re-weighted to the query sizes of the window's
 * queries (or, without that figure, of production since the detector's reset): not the calibration's own rate, which
 * the sentence gives beside it, first in the bracket that follows (`note`), so the sentence has one bracket.
 */
function expectedPhrase(t: WindowStatus["drop_rate"], calibrationRate: number | null): { phrase: string; note: string } {
  const c = comparedWith(t);
  if (t.strata_tested === undefined) return { phrase: `the calibration's ${pct(c.expected)}`, note: "" };
  return {
    phrase: `${pct(c.expected)} expected for ${c.own ? "their" : "production's"} query sizes`,
    note: `calibration at its own query sizes: ${pct(calibrationRate)}; `,
  };
}

const tolerated = (t: WindowStatus["drop_rate"]): string => {
  const { band } = comparedWith(t);
  return `tolerated ${pct(band.lo)}..${pct(band.hi)}`;
};

/** " over the last N queries, at X %": the queries the evidence weighs, and their rate when known. */
const sinceWords = (t: WindowStatus["drop_rate"]): string =>
  t.evidence_queries === null
    ? ""
    : ` over the last ${countText(t.evidence_queries)} queries${t.evidence_observed == null ? "" : `, at ${pct(t.evidence_observed)}`}`;

/** How a rate alarm's sentence names its rate: over the queries since the detector's change point, and over the window. */
interface RateWords {
  /** "production drop rate 33.3 % over the last 224 queries". */
  readonly recent: (rate: string, queries: number) => string;
  /** "22.7 % over the window's 3405 queries". */
  readonly window: (rate: string) => string;
  /** "production drop rate 22.7 % over 3405 queries": the window's rate leading, where the recent one is unknown. */
  readonly windowFirst: (rate: string) => string;
}

/**
 * A drop-rate or abstention alarm's sentence. It leads with what raised the alarm: the rate over the queries the
 * change detector's evidence weighs (since its most likely change point), against the expectation and band the
 * detector tests; then the window's rate, which hours of normal traffic before a shift can hold inside the band. A
 * stratified test's detector expects production's query sizes since its reset, the window its own (expectedPhrase).
 * Without the recent rate (an alarm recorded before it was reported), the window's rate leads, as it did then.
 */
function rateAlarmSentence(t: WindowStatus["drop_rate"], logThreshold: number, calibrationRate: number | null, words: RateWords): string {
  const evidence = `change-detector evidence ln R = ${t.log_evidence.toFixed(1)} >= ${logThreshold.toFixed(1)}`;
  if (t.evidence_queries === null || t.evidence_observed == null) {
    const e = expectedPhrase(t, calibrationRate);
    return `${words.windowFirst(pct(t.observed))} against ${e.phrase} (${e.note}${tolerated(t)}; ${evidence}${sinceWords(t)})`;
  }
  const detector = { ...t, expected_window: null, band_window: null };
  const e = expectedPhrase(detector, calibrationRate);
  const recent = `${words.recent(pct(t.evidence_observed), t.evidence_queries)} against ${e.phrase} (${e.note}${tolerated(detector)}; ${evidence})`;
  // A pooled test, or a window without its own figure, has one band: the window's rate alone says the rest.
  const own = t.strata_tested !== undefined && t.expected_window != null && t.band_window != null;
  return `${recent}; ${words.window(pct(t.observed))}${own ? ` against ${pct(t.expected_window!)} expected for their query sizes (${tolerated(t)})` : ""}`;
}

/**
 * The alert sentence for a drop-rate drift alarm; `calibrationRate` is the calibration's expected_drop_rate, `traffic`
 * whose queries the window holds ("production", or a promotion's "candidate arm", served to a share of the keys).
 */
export function driftSummary(status: WindowStatus, calibrationRate: number | null, traffic = "production"): string {
  return rateAlarmSentence(status.drop_rate, status.log_threshold, calibrationRate, {
    recent: (rate, queries) => `${traffic} drop rate ${rate} over the last ${countText(queries)} queries`,
    window: (rate) => `${rate} over the window's ${countText(status.queries)} queries`,
    windowFirst: (rate) => `${traffic} drop rate ${rate} over ${countText(status.queries)} queries`,
  });
}

/** The alert sentence for an empty-context alarm (for a min_keep gate: the guard binding more often than calibrated). */
export function emptyContextSummary(status: WindowStatus, traffic = "production"): string {
  const t = status.empty_context!;
  const level = status.empty_context_level;
  const what =
    level === undefined
      ? "lost every candidate to the gate"
      : `had fewer than min(${level}, candidates) at or above the threshold, so the min_keep guard kept candidates below it,`;
  const c = comparedWith(t);
  return `${pct(t.observed)} of ${countText(status.queries)} ${traffic} queries ${what} against ${pct(c.expected)} expected for ${c.own ? "their" : `${traffic}'s`} candidate counts (tolerated up to ${pct(c.band.hi)})`;
}

/**
 * The calibration's abstention rate as an abstention alarm's sentence names it beside the stratified expectation: the
 * strata's own share at the calibration's query sizes (what the stratified test re-weights), so the two agree when
 * production's sizes are the calibration's. The fitted `expected_rate` (the law of a new query, k/(n+1) against the
 * in-sample k/n) read 10.1 % beside an expectation of 10.0 % for the same sizes. Without strata, the expected rate.
 */
export function abstentionCalibrationRate(a: Expectation["abstention"] | undefined): number | null {
  if (!a) return null;
  if (!a.strata || a.strata.length === 0) return a.expected_rate;
  let queries = 0;
  let abstained = 0;
  for (const s of a.strata) {
    queries += s.queries;
    abstained += s.abstained;
  }
  return queries > 0 ? abstained / queries : a.expected_rate;
}

/**
 * The alert sentence for an abstention-rate alarm; `calibrationRate` is the calibration's abstention rate, `traffic`
 * whose queries the window holds (as driftSummary's).
 */
export function abstentionSummary(status: WindowStatus, calibrationRate: number | null, traffic = "production"): string {
  return rateAlarmSentence(status.abstention!, status.log_threshold, calibrationRate, {
    recent: (rate, queries) => `${rate} of the last ${countText(queries)} ${traffic} queries abstained (top score below abstain_below)`,
    window: (rate) => `${rate} of the window's ${countText(status.abstention_queries ?? 0)} ${traffic} queries abstained`,
    windowFirst: (rate) => `${rate} of ${countText(status.abstention_queries ?? 0)} ${traffic} queries abstained (top score below abstain_below)`,
  });
}
