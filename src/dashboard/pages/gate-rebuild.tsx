/** The gate page's rebuild decision: the shift report between the two calibrations the page compares. */
import type { Promotion, PromotionCause, ShiftReport } from "../../contract";
import { fixed, inPoints, num, pct, percent, points, unitsJoined } from "../charts/scale";
import type { Comparison, GateView } from "../data/gate";
import { NOW_WORDS, nowRole, versionName } from "./calibration-roles";
import { when } from "./layout";
import { promotionHref } from "./promotion";

/**
 * The decision and interval of a shift report: every report has them now, but calibrations stored before they
 * existed keep reports without them (D1 keeps records as they were written), shown without.
 */
function decisionOf(shift: ShiftReport): { decision: ShiftReport["decision"] | null; interval: ShiftReport["change_interval_95"] | null } {
  const stored = shift as Partial<Pick<ShiftReport, "decision" | "change_interval_95">>;
  return { decision: stored.decision ?? null, interval: stored.change_interval_95 ?? null };
}

/**
 * The rollback that closed the newer calibration's latest promotion, if it ended so: live traffic (or a person) then
 * had its say on the upload-time decision, and the page says so under it. `promotions` come newest first; `older` is
 * its latest when none of them is its (GateView.rebuildPromotion).
 */
function rolledBackPromotion(newer: Comparison["newer"], promotions: readonly Promotion[], older: Promotion | null) {
  const latest = promotions.find((p) => p.candidate_calibration_id === newer.id) ?? older;
  if (latest?.state !== "rolled_back") return null;
  const step = latest.steps.findLast((s) => s.kind === "rolled_back");
  return step === undefined ? null : { promotion: latest, step };
}

/** What a promotion's rollback says of the upload-time decision: its words and the line's data-field. */
export interface Verdict {
  readonly words: string;
  readonly field: "overruled" | "confirmed" | "unsettled";
}

/**
 * A rollback for a shift (against control or target, or the candidate arm's drift alarm) confirms a "shifted" decision
 * and overrules an "equivalent" or "inconclusive" one ("equivalent, shown to be within the tolerance" can be followed
 * by a candidate arm that shifted); one by hand is a person's call, not traffic's; one on an inconclusive timeout
 * settles nothing. A report stored without a decision (decisionOf) is read by its alert, as "shifted" raises one.
 */
export function verdictOf(decision: ShiftReport["decision"] | null, alerted: boolean, cause: PromotionCause): Verdict {
  const shifted = decision === null ? alerted : decision === "shifted";
  if (cause === "inconclusive_timeout") return { words: "Live traffic left this decision unsettled", field: "unsettled" };
  const who = cause === "admin" ? "A person" : "Live traffic";
  return shifted ? { words: `${who} confirmed this decision`, field: "confirmed" } : { words: `${who} overruled this decision`, field: "overruled" };
}

/** When the report the page shows was made, and the rebuild_shift alert it raised (if any). */
interface MadeAt {
  /** "activation": an activation after the upload; "upload": the upload (served at once when `served`). */
  readonly when: "upload" | "activation";
  readonly served: boolean;
  /** The latest activation's time, for "activation". */
  readonly at: string | null;
  readonly alertId: string | null;
}

/**
 * When the report was made: the server reads a calibration with the report that is true now (the one whose activation
 * raised the rebuild_shift alert, `alert_id`, or, for one stored unserved and activated since, its latest
 * activation's), so it was made at an activation after the upload unless the upload was served at once (its
 * activation's time is the calibration's created_at) or nothing activated it since.
 */
function madeAt(shift: ShiftReport, newer: Comparison["newer"], v: GateView): MadeAt {
  const mine = v.activations.filter((a) => a.calibration_id === newer.id);
  const servedAtUpload = mine.some((a) => a.activated_at === newer.created_at);
  const alertId = shift.alert_id ?? null;
  // newest first: the latest activation made the report the server reads now
  const later = !servedAtUpload && mine.length > 0 && (alertId !== null || shift.not_alerted !== "not_activated");
  return { when: later ? "activation" : "upload", served: servedAtUpload, at: later ? mine[0]!.activated_at : null, alertId };
}

/** "Made when v2 was activated on ... (after its upload); the activation raised the rebuild_shift alert alr_..." */
function MadeLine(props: { made: MadeAt; newer: string }) {
  const { made, newer } = props;
  const head =
    made.when === "activation"
      ? `Made when ${newer} was activated on ${when(made.at)} (after its upload)`
      : made.served
        ? `Made when ${newer} was uploaded and served at once`
        : `Made when ${newer} was uploaded`;
  // what raised the alert, named: the activation, or the upload that was served at once
  const raiser = made.when === "activation" ? "the activation" : "serving it";
  return (
    <>
      {head}
      {made.alertId !== null && (
        <>
          ; {raiser} raised the rebuild_shift alert <a href={`/ui/alerts/${made.alertId}`}>{made.alertId}</a>
        </>
      )}
    </>
  );
}

export function RebuildDecision(props: { view: GateView }) {
  const v = props.view;
  const c = v.comparison;
  const shift = c?.shift ?? null;
  if (c === null || shift === null) {
    return (
      <>
        <h2 id="rebuild">Rebuild decision</h2>
        <p>
          {v.current === null
            ? "No calibration is served, so there is no rebuild to decide on: activate one below."
            : "The current calibration was not compared with an earlier one."}
        </p>
      </>
    );
  }
  const extra = decisionOf(shift);
  const rollback = rolledBackPromotion(c.newer, v.promotions, v.rebuildPromotion ?? null);
  // Its section is on the page when it is among the newest or the promotion the link named; else a link that names it.
  const onPage = (id: string) =>
    v.promotions.some((p) => p.id === id) || (v.askedPromotion?.kind === "older" && v.askedPromotion.promotion.id === id);
  const verdict = rollback === null ? null : verdictOf(extra.decision, shift.alert, rollback.step.cause);
  const older = versionName(c.older, [c.newer]);
  const newer = versionName(c.newer, [c.older]);
  const made = madeAt(shift, c.newer, v);
  const served =
    v.current === null
      ? null
      : versionName(
          v.current,
          [c.older, c.newer].filter((x) => x.id !== v.current!.id),
        );
  const newerNow = nowRole(v, c.newer.id);
  return (
    <>
      <h2 id="rebuild">
        Rebuild decision: {older} → {newer}
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
          {shift.alert ? (
            shift.alert_id !== undefined ? (
              <a href={`/ui/alerts/${shift.alert_id}`} class="badge alarm" data-field="shift-alert">
                alert
              </a>
            ) : (
              <span class="badge alarm" data-field="shift-alert">
                alert
              </span>
            )
          ) : (
            <span class="badge watching" data-field="shift-alert">
              no alert
            </span>
          )}{" "}
          {unitsJoined(shift.reason)}
        </p>
        <p class="muted" data-field="report-made">
          <MadeLine made={made} newer={newer} />
          {c.newer.current ? (
            `; ${newer} is served now.`
          ) : (
            <span data-field="not-served">
              ; {newer} is not served now{newerNow === "not_served" ? "" : ` (${NOW_WORDS[newerNow]})`}
              {served === null ? "" : `: ${served} is`}.
            </span>
          )}
        </p>
        {rollback && verdict && (
          <p data-field={verdict.field}>
            <span class="badge alarm">rolled back</span> {verdict.words}: the promotion of {newer} (
            <a href={onPage(rollback.promotion.id) ? `#promotion-${rollback.promotion.id}` : promotionHref(v.gate.gate_id, rollback.promotion.id)}>
              {rollback.promotion.id}
            </a>
            ) was rolled back at {percent(rollback.promotion.plan.steps[rollback.step.step] ?? rollback.promotion.percent)} of traffic on{" "}
            {when(rollback.step.at)} ({rollback.step.cause.replaceAll("_", " ")}
            {rollback.step.reason ? `: ${rollback.step.reason}` : ""}).
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
            {pct(shift.previous_drop_rate_at_previous_threshold)} → {pct(shift.drop_rate_at_previous_threshold)} ({points(shift.change_points / 100)})
          </dd>
          {extra.interval && (
            <>
              <dt>Change, 95 % interval</dt>
              <dd data-field="change-interval">
                {fixed(extra.interval[0] * 100, 1)} to {inPoints(fixed(extra.interval[1] * 100, 1))}
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
          <dd>{inPoints(fixed(shift.tolerance * 100, 1))}</dd>
        </dl>
      </div>
    </>
  );
}
