/** The gate page's rebuild decision: the shift report between the two calibrations the page compares. */
import type { Promotion, ShiftReport } from "../../contract";
import { num, pct } from "../charts/scale";
import type { Comparison } from "../data/gate";
import { when } from "./layout";

/**
 * The decision and interval of a shift report: every report has them now, but calibrations stored before they
 * existed keep reports without them (D1 keeps records as they were written), shown without.
 */
function decisionOf(shift: ShiftReport): { decision: ShiftReport["decision"] | null; interval: ShiftReport["change_interval_95"] | null } {
  const stored = shift as Partial<Pick<ShiftReport, "decision" | "change_interval_95">>;
  return { decision: stored.decision ?? null, interval: stored.change_interval_95 ?? null };
}

/**
 * The rollback that closed the newer calibration's latest promotion, if it ended so: live traffic then overruled the
 * upload-time decision ("equivalent ... safe to promote" can be followed by a candidate arm that shifted), and the page
 * says so under it. `promotions` come newest first.
 */
function overruledBy(newer: Comparison["newer"], promotions: readonly Promotion[]) {
  const latest = promotions.find((p) => p.candidate_calibration_id === newer.id);
  if (latest?.state !== "rolled_back") return null;
  const step = latest.steps.findLast((s) => s.kind === "rolled_back");
  return step === undefined ? null : { promotion: latest, step };
}

export function RebuildDecision(props: { comparison: Comparison | null; promotions: readonly Promotion[] }) {
  const c = props.comparison;
  const shift = c?.shift ?? null;
  if (c === null || shift === null) {
    return (
      <>
        <h2 id="rebuild">Rebuild decision</h2>
        <p>The current calibration was not compared with an earlier one.</p>
      </>
    );
  }
  const extra = decisionOf(shift);
  const overruled = overruledBy(c.newer, props.promotions);
  return (
    <>
      <h2 id="rebuild">
        Rebuild decision: {c.older.index_version} → {c.newer.index_version}
      </h2>
      <div class="panel" data-field="shift">
        <p>
          {extra.decision !== null && (
            <>
              <span class={`badge ${extra.decision}`} data-field="decision">
                {extra.decision}
              </span>{" "}
            </>
          )}
          {shift.alert ? <span class="badge alarm">alert</span> : <span class="badge watching">no alert</span>} {shift.reason}
        </p>
        {!c.newer.current && (
          <p class="muted" data-field="not-served">
            Made when {c.newer.index_version} was uploaded; {c.newer.index_version} is not served now.
          </p>
        )}
        {overruled && (
          <p data-field="overruled">
            <span class="badge alarm">rolled back</span> Live traffic overruled this decision: the promotion of {c.newer.index_version} (
            <a href={`#promotion-${overruled.promotion.id}`}>{overruled.promotion.id}</a>) was rolled back at{" "}
            {overruled.promotion.plan.steps[overruled.step.step] ?? overruled.promotion.percent} % of traffic on {when(overruled.step.at)} (
            {overruled.step.cause.replaceAll("_", " ")}
            {overruled.step.reason ? `: ${overruled.step.reason}` : ""}).
          </p>
        )}
        <dl class="kv">
          <dt>Compared with</dt>
          <dd>
            {shift.compared_with === "carry_reference" ? "the carry reference" : "the gate's calibration served before it"} (
            {shift.previous_index_version}, <code>{shift.previous_calibration_id}</code>)
          </dd>
          <dt>Previous threshold</dt>
          <dd>{num(shift.previous_threshold)}</dd>
          <dt>Its drop rate before → after</dt>
          <dd>
            {pct(shift.previous_drop_rate_at_previous_threshold)} → {pct(shift.drop_rate_at_previous_threshold)} (
            {shift.change_points >= 0 ? "+" : ""}
            {num(shift.change_points, 1)} points)
          </dd>
          {extra.interval && (
            <>
              <dt>Change, 95 % interval</dt>
              <dd data-field="change-interval">
                {num(extra.interval[0] * 100, 1)} to {num(extra.interval[1] * 100, 1)} points
              </dd>
            </>
          )}
          <dt>z, p</dt>
          <dd>
            {num(shift.z, 2)}, {shift.p_value < 0.001 ? "< 0.001" : num(shift.p_value, 4)}
          </dd>
          <dt>KS, PSI</dt>
          <dd>
            {num(shift.ks)}, {num(shift.psi.value)} {shift.psi.exceeds ? `(above ${shift.psi.threshold})` : ""}
          </dd>
          <dt>Tolerance</dt>
          <dd>{num(shift.tolerance * 100, 1)} points</dd>
        </dl>
      </div>
    </>
  );
}
