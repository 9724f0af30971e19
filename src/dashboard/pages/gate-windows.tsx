/**
 * The gate page's daily monitor windows (24 h each, oldest first): each window's observed drop rate against the
 * expectation for its own query sizes, its candidates without a score (once a window has some), its empty-context or
 * guard-binding rate, abstention, candidates per query and alarm events (GET /v1/monitor's windows).
 */
import { MONITORED_QUERY_SHARE_WARNING } from "../../contract";
import { count, pct } from "../charts/scale";
import type { GateView } from "../data/gate";
import type { WindowPoint } from "../data/monitor-view";
import { versionName } from "./calibration-roles";
import { ROLE_WORDS, WINDOW_SIZES } from "./gate-expectation";
import { when } from "./layout";
import { Table } from "./table";
import { unscoredColumns } from "./unscored-column";

export function GateWindowsTable(props: { view: GateView }) {
  const v = props.view;
  const guarded = v.monitor.points.some((p) => p.empty_level !== null);
  const abstaining = v.monitor.points.some((p) => p.abstention !== null);
  const windowsBySize = v.monitor.points.some((p) => p.strata !== null);
  if (v.monitor.points.length === 0) return null;
  return (
    <Table
      name="windows"
      caption={`Daily monitor windows (24 h each, oldest first)${windowsBySize ? `; Expected and Band: ${WINDOW_SIZES}` : ""}`}
      rows={v.monitor.points}
      columns={[
        {
          header: "Window start",
          cell: (p) => (
            <>
              {when(p.started_at)}
              {p.open ? " (open)" : ""}
            </>
          ),
        },
        { header: "Version", cell: (p) => versionName(p, v.monitor.points) },
        { header: "Role", field: "role", cell: (p) => ROLE_WORDS[p.role] },
        { header: "Queries", num: true, cell: (p) => p.queries },
        // the candidates without a score beside the rates of the scored ones, once some window has them
        ...unscoredColumns(v.monitor.points, (p) => ({ unscored: p.unscored, scored: p.candidates })),
        { header: "Observed", num: true, cell: (p) => pct(p.observed) },
        // beside the window's observed rate: the expectation for its own query sizes where the test is stratified
        { header: "Expected", num: true, cell: (p) => pct((p.window ?? p).expected) },
        { header: "Band", num: true, cell: (p) => `${pct((p.window ?? p).band[0])} – ${pct((p.window ?? p).band[1])}` },
        {
          // A min_keep gate is never empty: its test watches where the guard binds (docs/drift.md).
          header: guarded ? (
            <>
              Empty context /<br />
              guard binding
            </>
          ) : (
            "Empty context"
          ),
          num: true,
          field: "empty",
          cell: (p) =>
            p.empty_level === null ? (
              pct(p.empty_rate)
            ) : (
              <>
                <div>guard bound {pct(p.empty_rate)}</div>
                <div class="muted">(min_keep {p.empty_level})</div>
              </>
            ),
        },
        ...(abstaining
          ? [
              {
                header: "Abstention",
                num: true,
                field: "abstention",
                cell: (p: WindowPoint) =>
                  p.abstention === null ? (
                    "–"
                  ) : (
                    <>
                      <div>
                        {pct(p.abstention.observed)} of {count(p.abstention.queries)}
                      </div>
                      {/* beside the window's observed rate: the expectation for its own query sizes, as for the drop rate */}
                      <div class="muted">(expected {pct((p.abstention.window ?? p.abstention).expected)})</div>
                      {/* production in sizes the calibration holds too few of: untested, and outside a certified bound */}
                      {p.abstention.tested_share !== null && p.abstention.tested_share < MONITORED_QUERY_SHARE_WARNING && (
                        // short, so the daily table keeps every column at 1280 px (docs/dashboard.md says what it means)
                        <div>watched {pct(p.abstention.tested_share)}</div>
                      )}
                      {p.abstention.alarm && <div>alarm</div>}
                    </>
                  ),
              },
            ]
          : []),
        {
          header: (
            <>
              Candidates
              <br />/ query
            </>
          ),
          num: true,
          field: "candidates",
          cell: (p) => (
            <>
              {p.mean_candidates === null ? "–" : p.mean_candidates.toFixed(1)}
              {(p.candidates_change === "fewer" || p.candidates_change === "more") && (
                <div class="muted">({p.candidates_change} than calibration)</div>
              )}
            </>
          ),
        },
        {
          // a batch in which two tests alarm is one event (both tests' detectors restart then); "Test alarms" counts both
          header: (
            <>
              Alarm
              <br />
              events
            </>
          ),
          num: true,
          cell: (p) => p.alarms,
        },
      ]}
    />
  );
}
