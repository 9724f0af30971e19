/**
 * What the gate's drift detectors compare production against, and how the gate page names a calibration by the
 * traffic its monitor counts. One figure per open monitor window, the numbers of GET /v1/monitor's `windows`, whatever
 * range the hourly chart shows: a guarded calibration's drop-rate test is stratified by query size, so its expected
 * rate is the calibration's per-size rates re-weighted to the sizes production sent since the detector's last reset
 * (docs/drift.md), not the calibration's own rate. The hourly series keeps that figure as it stood at each hour's last
 * batch, so its dashes move with production's mix of sizes: the page says so wherever it shows them.
 */
import type { SeriesTraffic, WindowRole } from "../../contract";
import { count, pct } from "../charts/scale";
import { calibrationsOf } from "../charts/series-parts";
import type { GateView } from "../data/gate";
import type { WindowPoint } from "../data/monitor-view";
import { NOW_WINDOW, NOW_WORDS, nowRole, rolesInRange, seriesLabel, versionName, versionWith } from "./calibration-roles";
import { when } from "./layout";

/** Whose traffic, in words (contract/monitoring.ts WindowRole). */
export const ROLE_WORDS: Record<WindowRole, string> = { active: "active", previous: "previous", shadow: "shadow", candidate: "promotion candidate" };

/** The monitor windows' roles that count a traffic's batches (a served window is the active or a previous one's). */
export const WINDOW_ROLES: Record<SeriesTraffic, readonly WindowRole[]> = {
  served: ["active", "previous"],
  shadow: ["shadow"],
  candidate: ["candidate"],
};

/**
 * The monitor window a calibration is summed up by: the open window of the traffic it has now (the active one for the
 * served calibration, though its shadow window from before its promotion may still be open), else its newest; null
 * when the monitor holds none.
 */
export function windowOf(v: GateView, calibrationId: string): WindowPoint | null {
  const mine = v.monitor.points.filter((p) => p.calibration_id === calibrationId);
  const role = NOW_WINDOW[nowRole(v, calibrationId)];
  return mine.find((p) => p.open && p.role === role) ?? mine.at(-1) ?? null;
}

/** Whether the window is the open one of the traffic its calibration has now (its detector watches that now). */
const watchedNow = (v: GateView, w: WindowPoint): boolean => w.open && w.role === NOW_WINDOW[nowRole(v, w.calibration_id)];

/**
 * A window's calibration as the detector's lines name it: its index version (with its id's end when another window's
 * calibration has the same version), and the window's role unless it is the active one; a window of traffic the
 * calibration no longer has (v2's shadow window, open for the rest of its day after v2 is promoted) says so and what
 * the calibration is now.
 */
export function windowName(v: GateView, p: Pick<WindowPoint, "calibration_id" | "index_version" | "role">): string {
  const now = nowRole(v, p.calibration_id);
  if (p.role !== NOW_WINDOW[now]) return versionWith(p, v.monitor.points, `${ROLE_WORDS[p.role]} window, ${NOW_WORDS[now]} now`);
  return p.role === "active" ? versionName(p, v.monitor.points) : versionWith(p, v.monitor.points, ROLE_WORDS[p.role]);
}

/**
 * A calibration as the chart's legend and text name it: what it is now and what its windows were within the range
 * shown (calibration-roles.ts), with its id's end when another series has its index version.
 */
export function calibrationName(v: GateView, c: { calibration_id: string; index_version: string }): string {
  const now = nowRole(v, c.calibration_id);
  const shown = calibrationsOf(v.series?.buckets ?? []);
  const earlier = v.series === null ? [] : rolesInRange(v.monitor.points, v.promotions ?? [], c.calibration_id, v.series.from, v.series.to, now);
  return seriesLabel(c, shown, now, earlier);
}

/** Whether a calibration's drop-rate expectation moves with production's query sizes (its test is stratified). */
export const bySize = (v: GateView, calibrationId: string): boolean => windowOf(v, calibrationId)?.strata != null;

/** What a stratified expectation is for, in the words the page uses everywhere. */
export const FOR_SIZES = "for the query sizes production sent since the detector's last reset";

/** A window's Expected and Band beside its Observed: for the window's own queries (older windows: the detector's). */
export const WINDOW_SIZES =
  "for the window's own queries' sizes (in windows recorded before that figure: the detector's at the window's last batch, for the query sizes production had sent since its last reset)";

/** The same for a figure the series or a window kept as it stood at an hour's or a window's last batch. */
export const FOR_SIZES_THEN = "for the query sizes production had sent since the detector's last reset";

/**
 * "30.0 % (tolerated 27.0 % to 33.0 %)", with FOR_SIZES when the test is stratified; a stratified test with no
 * candidate a threshold decides since its reset (`tested_share` null: no size stratum weighed yet) says that instead.
 */
export function expectedWords(p: Pick<WindowPoint, "expected" | "band" | "strata">): string {
  const tolerated = `(tolerated ${pct(p.band[0])} to ${pct(p.band[1])})`;
  if (p.strata === null) return `${pct(p.expected)} ${tolerated}`;
  if (p.strata.tested_share === null)
    return `${pct(p.expected)} ${tolerated}, with no candidate a threshold decides since the detector's last reset yet`;
  return `${pct(p.expected)} ${FOR_SIZES} ${tolerated}`;
}

/**
 * While the drop-rate alert stands, the test as it alarmed (its detector restarted then, so the figure before this is
 * the restarted one's): the rate over the evidence's latest queries, else the window's, against what it expected.
 */
function alarmedLine(p: WindowPoint): string {
  const a = p.alarmed!;
  const seen =
    a.latest === null
      ? `${pct(a.observed)} over the window's ${count(a.queries)} queries`
      : `${pct(a.latest.observed)} over the latest ${count(a.latest.queries)} queries`;
  const sizes = p.strata === null ? "" : ` ${FOR_SIZES_THEN}`;
  return `It alarmed at ${when(a.at)} on ${seen}, against ${pct(a.expected)} expected${sizes} (tolerated ${pct(a.band[0])} to ${pct(a.band[1])}); its detector restarted then.`;
}

/** One line per open window: what its detector expects now, and for a guarded calibration what its test watches. */
function expectationLine(v: GateView, p: WindowPoint): string {
  const own = v.calibrations.find((c) => c.id === p.calibration_id)?.expected_drop_rate;
  const head = `${windowName(v, p)}: ${expectedWords(p)}`;
  if (p.strata === null || p.strata.tested_share === null) return `${head}.`;
  const watched = `, which held ${pct(p.strata.tested_share)} of the candidates a threshold decided since that reset`;
  return [
    `${head}; the calibration's own expected drop rate is ${own === undefined ? "not listed here" : pct(own)}.`,
    `${p.strata.tested} of ${p.strata.total} size strata are tested${watched}.`,
  ].join(" ");
}

/**
 * The expectation each open window's detector compares against now (nothing when the monitor holds no open window):
 * the figure GET /v1/monitor reports as `drop_rate.expected`, the same for every range of the chart.
 */
export function DetectorExpectation(props: { view: GateView }) {
  const v = props.view;
  const open = v.monitor.points.filter((p) => p.open).sort((a, b) => Number(b.role === "active") - Number(a.role === "active"));
  if (open.length === 0) return null;
  return (
    <div data-field="detector-expected">
      <p>What the drift detector compares the drop rate against now (as in GET /v1/monitor, whatever range is shown):</p>
      <ul>
        {open.map((p) => (
          <li data-calibration={p.calibration_id} data-role={p.role}>
            {expectationLine(v, p)}
            {p.alarmed && <div data-field="drop-rate-alarmed">{alarmedLine(p)}</div>}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * A calibration's expectation in the chart's text alternative: its detector's now (open window), else the one its last
 * hour was tested against; never a figure that changes with the range shown.
 */
export function chartExpectation(
  v: GateView,
  c: { calibration_id: string; index_version: string; traffic?: SeriesTraffic },
  last: { start: string; expected: number; band: { lo: number; hi: number } },
): string {
  const w = windowOf(v, c.calibration_id);
  // a line of traffic its calibration no longer has (a promoted shadow's) is given its last hour's, not another detector's
  const sameTraffic = c.traffic === undefined || (w !== null && WINDOW_ROLES[c.traffic].includes(w.role));
  if (w !== null && sameTraffic && watchedNow(v, w)) return `the detector expects ${expectedWords(w)} now`;
  const stratified = w?.strata != null;
  return `expected ${pct(last.expected)}${stratified ? ` ${FOR_SIZES}` : ""} (tolerated ${pct(last.band.lo)} to ${pct(last.band.hi)}) at its last hour, ${when(last.start)}`;
}
