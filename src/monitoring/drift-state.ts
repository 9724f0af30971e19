/**
 * A gate's drift state in one word, from its monitor and its alerts: the one rule GET /v1/monitor, the dashboard and
 * /metrics all apply, so none of them can read "watching" while another reads "alarm".
 *
 * A test's change detector restarts at each of its alarms (so that a continued shift alarms again on fresh evidence),
 * which makes its own evidence read low right after one: the alarm therefore lasts as long as the alert it raised is unresolved
 * (open or acknowledged), and from the moment the monitor decided it, before the alert reached D1 (the monitor's
 * outbox). Pure: the callers fetch the monitor's snapshot and the gate's unresolved alerts.
 */
import { type AlertKind, type CoverageStatus, DRIFT_ALERT_KINDS, type DriftState, type WindowStatus } from "../contract";
import { alarmedWhere, RATE_TEST_KINDS } from "./window";

const DRIFT_KINDS: ReadonlySet<AlertKind> = new Set(DRIFT_ALERT_KINDS);

/** True for the alert kinds the drift monitor raises (an unresolved one puts its gate in alarm). */
export const isDriftKind = (kind: AlertKind): boolean => DRIFT_KINDS.has(kind);

export interface DriftStateInput {
  /** The monitor's open windows of served traffic and its coverage tests: armed or not. */
  readonly windows: readonly Pick<WindowStatus, "calibration_id" | "drop_rate" | "empty_context" | "abstention">[];
  readonly recall: readonly { readonly calibration_id: string; readonly armed: boolean }[];
  /**
   * The gate's current calibration: only its tests say whether the gate is watched ("watching" or "not armed"). A
   * window of the calibration an activation or rollback replaced still counts services that have not refreshed, and
   * its armed detector says nothing of the one now served. Absent: every window counts.
   */
  readonly currentCalibrationId?: string | null;
  /** Alarms the monitor decided and has not yet stored in D1 (`at`: epoch ms). */
  readonly pending: readonly { readonly kind: AlertKind; readonly at: number }[];
  /** The gate's unresolved alerts of any kind (only drift kinds count), with when each was first seen. */
  readonly unresolved: readonly { readonly kind: AlertKind; readonly since: string; readonly id: string | null }[];
}

export function driftState(input: DriftStateInput): DriftState {
  const stored = input.unresolved.filter((a) => isDriftKind(a.kind));
  const holding = [
    ...stored,
    // A repeat alarm of an alert already stored (its outbox entry not yet raised) is that alert, not another holder.
    ...input.pending
      .filter((p) => isDriftKind(p.kind) && !stored.some((a) => a.kind === p.kind))
      .map((p) => ({ kind: p.kind, since: new Date(p.at).toISOString(), id: null })),
  ];
  const current = input.currentCalibrationId;
  const ofCurrent = <T extends { readonly calibration_id: string }>(xs: readonly T[]): readonly T[] =>
    current === undefined || current === null ? xs : xs.filter((x) => x.calibration_id === current);
  const tests = ofCurrent(input.windows).flatMap((w) => [w.drop_rate, w.empty_context, w.abstention].flatMap((t) => (t ? [t] : [])));
  const armed = tests.some((t) => t.armed) || ofCurrent(input.recall).some((r) => r.armed);
  // The evidence shown beside a state that is not armed is a restarted (or new) detector's: say when it arms.
  const toArm = tests.flatMap((t) => (t.queries_to_arm == null ? [] : [t.queries_to_arm]));
  const queries_to_arm = armed || toArm.length === 0 ? null : Math.min(...toArm);
  if (holding.length > 0) {
    // One order for kinds, alert_ids and alerts (DRIFT_ALERT_KINDS, then the oldest first within a kind), so a reader
    // that pairs kinds with alert_ids by position pairs them right whenever every holder is stored.
    const rank = (k: AlertKind) => (DRIFT_ALERT_KINDS as readonly AlertKind[]).indexOf(k);
    const ordered = [...holding].sort((a, b) => rank(a.kind) - rank(b.kind) || a.since.localeCompare(b.since));
    return {
      state: "alarm",
      since: holding.map((h) => h.since).reduce((a, b) => (b < a ? b : a)),
      kinds: DRIFT_ALERT_KINDS.filter((k) => holding.some((h) => h.kind === k)),
      alert_ids: [...new Set(ordered.flatMap((h) => (h.id === null ? [] : [h.id])))],
      alerts: ordered.map((h) => ({ kind: h.kind, alert_id: h.id, since: h.since })),
      queries_to_arm,
    };
  }
  const quiet = { since: null, kinds: [], alert_ids: [], alerts: [] };
  if (input.windows.length === 0 && input.recall.length === 0) return { state: "no_observations", ...quiet, queries_to_arm: null };
  return { state: armed ? "watching" : "not_armed", ...quiet, queries_to_arm };
}

/**
 * Does an alarm at `at` (ISO) belong to an alert of `kind` that holds the gate's alarm? It does when such an alert
 * began at or before it: an alert's first_seen_at is its detection (the monitor's alarm time), and its later alarms
 * come after. An earlier alert's alarm, carried by the window after that alert was resolved, is older than every
 * holder of its kind.
 */
const heldBy = (at: string | undefined, kind: AlertKind, alerts: DriftState["alerts"]): boolean =>
  at !== undefined && alerts.some((a) => a.kind === kind && Date.parse(a.since) <= Date.parse(at));

/**
 * A window as the status reports it: each test's `alarmed` numbers (the test as it stood at its alarm, before its
 * detector restarted) while the alert it raised holds the gate's alarm (`alerts`, the state's), null otherwise. Only
 * served traffic raises the gate's alerts: a shadow's or a candidate arm's window reports none.
 */
export const standingWindow = <W extends WindowStatus & { readonly traffic: string }>(w: W, alerts: DriftState["alerts"]): W =>
  alarmedWhere(w, (alarmed, name) => w.traffic === "served" && heldBy(alarmed.at, RATE_TEST_KINDS[name], alerts));

/** A coverage test as the status reports it: the alarmed test's numbers while its recall_drift alert holds the alarm. */
export const standingCoverage = <C extends CoverageStatus>(c: C, alerts: DriftState["alerts"]): C => ({
  ...c,
  alarmed: heldBy(c.alarmed?.at, "recall_drift", alerts) ? (c.alarmed ?? null) : null,
});
