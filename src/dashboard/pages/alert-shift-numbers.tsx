/**
 * A rebuild_shift alert's numbers: the calibrations before, when raised and now (with what resolved it), and the
 * previous threshold's drop rate before and after with the decision's statistics.
 */
import type { Alert, ShiftReport } from "../../contract";
import { fixed, inPoints, num, pct, points } from "../charts/scale";
import type { ServedNow } from "../data/alerts";
import { Group, numberOf } from "./alert-number-parts";
import { when } from "./layout";

/** What a rebuild_shift alert's page knows beyond the occurrence: the alert, and what its gate serves now. */
export interface ShiftContext {
  readonly alert: Pick<Alert, "calibration_ids" | "status" | "resolved_at" | "resolved_note">;
  readonly served: ServedNow | null;
  /**
   * The calibration_ids of the occurrence whose numbers the page shows, [served before, shifted to]: the latest's (an
   * alert keeps its first occurrence's ids, another activation's once a second shift counted on it); absent: the alert's.
   */
  readonly occurrenceCalibrationIds?: readonly string[] | undefined;
}

/** The note the alerts feature resolves a rebuild_shift alert with when the rollback to the calibration before it ends it. */
const ROLLBACK_NOTE = /^resolved by activation (\S+):/u;

/**
 * What was served before the shift, what was served when the alert was raised (the calibration that shifted, as the
 * occurrence recorded it) and what is served now, which after a rollback is the first again.
 */
function ShiftCalibrations(props: { s: ShiftReport; details: Record<string, unknown>; context: ShiftContext | undefined }) {
  const { s, details, context } = props;
  const raisedId = (context?.occurrenceCalibrationIds ?? context?.alert.calibration_ids)?.[1] ?? null;
  const raisedVersion = typeof details.index_version === "string" ? details.index_version : "–";
  const served = context?.served ?? null;
  const rollback = context?.alert.status === "resolved" ? ROLLBACK_NOTE.exec(context.alert.resolved_note ?? "") : null;
  // The incident began with the alert's first shift, from the calibration its first occurrence names: only that one
  // current again ends it (src/alerts/shift-alert.ts). A rollback of a later shift on the same alert brings back the
  // calibration before that shift, and the first shift stands.
  const firstBefore = context?.alert.calibration_ids[0] ?? s.previous_calibration_id;
  const nowIs =
    served === null
      ? null
      : served.calibration_id === firstBefore
        ? "the calibration served before the shift: rolled back"
        : served.calibration_id === s.previous_calibration_id
          ? `the calibration served before this shift: rolled back from it, while the alert's first shift, from ${firstBefore}, stands`
          : served.calibration_id === raisedId
            ? "the calibration that shifted"
            : "another calibration";
  return (
    <Group title="Calibrations" field="calibration">
      <dt>Served before the shift</dt>
      <dd data-field="served-before">
        {s.previous_index_version}, threshold {num(s.previous_threshold)} (<code>{s.previous_calibration_id}</code>)
      </dd>
      <dt>Served when raised</dt>
      <dd data-field="served-when-raised">
        {raisedVersion}, threshold {num(numberOf(details.threshold))}
        {raisedId !== null && (
          <>
            {" "}
            (<code>{raisedId}</code>)
          </>
        )}
      </dd>
      {context !== undefined && (
        <>
          <dt>Served now</dt>
          <dd data-field="served-now">
            {served === null ? (
              "nothing"
            ) : (
              <>
                {served.index_version}, threshold {num(served.threshold)} (<code>{served.calibration_id}</code>), {nowIs}
              </>
            )}
          </dd>
        </>
      )}
      {rollback && (
        <>
          <dt>Resolved</dt>
          <dd data-field="resolved-by-rollback">
            by the rollback to {s.previous_index_version} at {when(context!.alert.resolved_at)} (activation <code>{rollback[1]}</code>)
          </dd>
        </>
      )}
    </Group>
  );
}

/** A rebuild shift's numbers: details.shift. */
export function ShiftNumbers(props: { s: ShiftReport; details: Record<string, unknown>; context: ShiftContext | undefined }) {
  const s = props.s;
  return (
    <div class="cards">
      <Group title="The previous threshold: its drop rate before and after" field="rate">
        <dt>Threshold</dt>
        <dd>{num(s.previous_threshold)}</dd>
        <dt>Before ({s.previous_index_version})</dt>
        <dd data-field="expected">{pct(s.previous_drop_rate_at_previous_threshold)}</dd>
        <dt>After</dt>
        <dd data-field="observed">{pct(s.drop_rate_at_previous_threshold)}</dd>
        <dt>Change</dt>
        <dd>
          {points(s.change_points / 100)} (95 %: {fixed(s.change_interval_95[0] * 100, 1)} to {fixed(s.change_interval_95[1] * 100, 1)})
        </dd>
        <dt>Tolerance</dt>
        <dd data-field="band">± {inPoints(fixed(s.tolerance * 100, 1))}</dd>
      </Group>
      <Group title="Decision" field="evidence">
        <dt>Decision</dt>
        <dd>{s.decision}</dd>
        <dt>z, p</dt>
        <dd>
          {num(s.z, 2)}, {s.p_value < 0.001 ? "< 0.001" : num(s.p_value, 4)}
        </dd>
        <dt>KS, PSI</dt>
        <dd>
          {num(s.ks)}, {num(s.psi.value)}
        </dd>
      </Group>
      <ShiftCalibrations s={s} details={props.details} context={props.context} />
    </div>
  );
}
