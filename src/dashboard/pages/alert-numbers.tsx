/**
 * An alert's numbers laid out by meaning, one layout per kind (a drift window's rate test, a rebuild shift, a recall
 * coverage test), and every number of an occurrence as plain rows: what the alert page shows of each occurrence.
 */
import type { Child } from "hono/jsx";
import { type Alert, CoverageStatus, LiveDecision, ShiftReport, WindowStatus } from "../../contract";
import { num, pct } from "../charts/scale";
import type { ServedNow } from "../data/alerts";
import { when } from "./layout";
import { decisionWords } from "./promotion";
import { Table } from "./table";

/** The calibration's id and index version, the first rows of a "Calibration" group. */
function CalibrationRows(props: { id: string; version: string }) {
  return (
    <>
      <dt>Id</dt>
      <dd>
        <code>{props.id}</code>
      </dd>
      <dt>Index version</dt>
      <dd>{props.version}</dd>
    </>
  );
}

/**
 * The evidence against its alarm level, and since when it accumulates. `name` is the statistic's name as the summary
 * and docs/drift.md write it: ln R for the drift windows' change detector, ln E for the coverage test's e-value.
 */
function EvidenceRows(props: { name: "ln R" | "ln E"; log: number; level: number; sinceLabel: string; since: string | null }) {
  return (
    <>
      <dt>{props.name}</dt>
      <dd data-field="evidence">
        {num(props.log, 2)} (alarm at {num(props.level, 2)})
      </dd>
      <dt>{props.sinceLabel}</dt>
      <dd>{when(props.since)}</dd>
    </>
  );
}

/** A labelled group of numbers. */
function Group(props: { title: string; field: string; children: Child }) {
  return (
    <section class="panel" data-group={props.field} aria-label={props.title}>
      <h3>{props.title}</h3>
      <dl class="kv numbers">{props.children}</dl>
    </section>
  );
}

const points = (x: number) => `${x >= 0 ? "+" : ""}${num(x * 100, 1)} points`;

/** Which of a drift window's rate tests an alert is about. */
type WindowTest = "drop_rate" | "empty_context" | "abstention";

/**
 * A drift window's numbers (drop_rate_drift, empty_context, abstention_drift): details.window. A min_keep gate's
 * window (`empty_context_level`) counts in `empty_context` and `empty_queries` the queries where the guard bound, not
 * queries left empty (as its summary says), so the cards say so.
 */
function WindowNumbers(props: { w: WindowStatus; test: WindowTest }) {
  const w = props.w;
  const level = w.empty_context_level;
  const guarded = level !== undefined && level >= 1;
  const t = (props.test === "empty_context" ? w.empty_context : props.test === "abstention" ? w.abstention : null) ?? w.drop_rate;
  const what =
    props.test === "drop_rate"
      ? "Drop rate"
      : props.test === "abstention"
        ? "Abstention rate"
        : guarded
          ? "Queries where the min_keep guard bound"
          : "Queries that lost every candidate";
  // A stratified test (a guarded drop rate; abstention by size) expects the calibration's per-size rates weighed by the
  // sizes production sent since the detector's reset, as the summary says; the guard-binding test, by candidate count.
  const bySizes =
    t.strata_tested !== undefined
      ? `for the query sizes production sent since the detector's last reset (${t.strata_tested} of ${t.strata_total ?? 0} size strata tested)`
      : props.test === "empty_context" && w.candidates_per_query.strata.some((st) => st.expected_empty_rate !== null)
        ? "for the candidate counts production sent since the detector's last reset"
        : null;
  // A stratified test's expectation for the window's own queries' sizes (expected_window) is what its cumulative
  // observed rate compares with; the detector's (since its last reset) is named beside it.
  const own = t.expected_window != null && t.band_window != null ? { expected: t.expected_window, band: t.band_window } : null;
  const cmp = own ?? { expected: t.expected, band: t.band };
  // The abstention rate is over the queries that said whether they abstained, not every query of the window.
  const scope =
    props.test === "abstention" ? `the window's ${w.abstention_queries ?? 0} queries that reported abstention` : `the window's ${w.queries} queries`;
  return (
    <div class="cards">
      <Group title={`${what}: observed against expected`} field="rate">
        <dt>Observed (cumulative)</dt>
        <dd data-field="observed">{pct(t.observed)}</dd>
        <dt>Over</dt>
        <dd data-field="observed-scope">
          {scope} since it opened at {when(w.started_at)}; the evidence below weighs the latest ones
        </dd>
        <dt>Expected</dt>
        <dd data-field="expected">
          {pct(cmp.expected)}
          {own ? (
            <div class="muted">
              for these queries' sizes; the detector's own figure, {bySizes}, is {pct(t.expected)}
            </div>
          ) : (
            bySizes && <div class="muted">{bySizes}</div>
          )}
        </dd>
        <dt>Difference</dt>
        <dd>{t.observed === null ? "–" : points(t.observed - cmp.expected)}</dd>
        <dt>Tolerance band</dt>
        <dd data-field="band">
          {pct(cmp.band.lo)} to {pct(cmp.band.hi)}
        </dd>
      </Group>
      <Group title="Evidence of a shift" field="evidence">
        <EvidenceRows name="ln R" log={t.log_evidence} level={w.log_threshold} sinceLabel="Accumulating since" since={t.evidence_since} />
        <dt>Over the latest</dt>
        <dd data-field="evidence-queries">{t.evidence_queries === null ? "–" : `${t.evidence_queries} queries`}</dd>
        {t.evidence_observed !== undefined && (
          <>
            <dt>Observed over them</dt>
            <dd data-field="evidence-observed">{t.evidence_observed === null ? "–" : pct(t.evidence_observed)}</dd>
          </>
        )}
        <dt>Design effect</dt>
        <dd>{num(w.design_effect, 2)}</dd>
      </Group>
      <Group title="The day's window" field="window">
        <dt>From</dt>
        <dd>{when(w.started_at)}</dd>
        <dt>To</dt>
        <dd>{when(w.ends_at)}</dd>
        <dt>Queries</dt>
        <dd>{w.queries}</dd>
        <dt>Candidates, dropped</dt>
        <dd>
          {w.candidates}, {w.dropped}
        </dd>
        {/* short labels: the card's label column is as wide as its longest label, and must fit a 375 px screen */}
        <dt>{guarded ? "Guard bound" : "Empty queries"}</dt>
        <dd data-field="empty-queries">
          {w.empty_queries}
          {guarded && ` (min_keep ${level})`}
        </dd>
        {w.abstention_queries !== undefined && (
          <>
            <dt>Abstained</dt>
            <dd data-field="abstention-queries">
              {w.abstained_queries ?? 0} of the {w.abstention_queries} that reported abstention
            </dd>
          </>
        )}
      </Group>
      <Group title="Calibration" field="calibration">
        <CalibrationRows id={w.calibration_id} version={w.index_version} />
        <dt>Candidates / query</dt>
        <dd>
          {w.mean_candidates === null ? "–" : num(w.mean_candidates, 1)} (calibration{" "}
          {w.expected_mean_candidates === null ? "–" : num(w.expected_mean_candidates, 1)})
        </dd>
      </Group>
    </div>
  );
}

/** What a rebuild_shift alert's page knows beyond the occurrence: the alert, and what its gate serves now. */
export interface ShiftContext {
  readonly alert: Pick<Alert, "calibration_ids" | "status" | "resolved_at" | "resolved_note">;
  readonly served: ServedNow | null;
}

/** The note the alerts feature resolves a rebuild_shift alert with when the rollback to the calibration before it ends it. */
const ROLLBACK_NOTE = /^resolved by activation (\S+):/u;

/**
 * What was served before the shift, what was served when the alert was raised (the calibration that shifted, as the
 * occurrence recorded it) and what is served now, which after a rollback is the first again.
 */
function ShiftCalibrations(props: { s: ShiftReport; details: Record<string, unknown>; context: ShiftContext | undefined }) {
  const { s, details, context } = props;
  const raisedId = context?.alert.calibration_ids[1] ?? null;
  const raisedVersion = typeof details.index_version === "string" ? details.index_version : "–";
  const served = context?.served ?? null;
  const rollback = context?.alert.status === "resolved" ? ROLLBACK_NOTE.exec(context.alert.resolved_note ?? "") : null;
  const nowIs =
    served === null
      ? null
      : served.calibration_id === s.previous_calibration_id
        ? "the calibration served before the shift: rolled back"
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
function ShiftNumbers(props: { s: ShiftReport; details: Record<string, unknown>; context: ShiftContext | undefined }) {
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
          {points(s.change_points / 100)} (95 %: {num(s.change_interval_95[0] * 100, 1)} to {num(s.change_interval_95[1] * 100, 1)})
        </dd>
        <dt>Tolerance</dt>
        <dd data-field="band">± {num(s.tolerance * 100, 1)} points</dd>
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

/** A recall coverage test's numbers: details.recall. */
function RecallNumbers(props: { r: CoverageStatus }) {
  const r = props.r;
  return (
    <div class="cards">
      <Group title={`Coverage (${r.coverage}): observed against guaranteed`} field="rate">
        <dt>Observed</dt>
        <dd data-field="observed">{pct(r.observed)}</dd>
        <dt>Expected</dt>
        <dd data-field="expected">{pct(r.expected)}</dd>
        <dt>Tolerated down to</dt>
        <dd data-field="band">{pct(r.tolerated)}</dd>
        <dt>95 % confidence sequence</dt>
        <dd>
          {pct(r.confidence_sequence_95[0])} to {pct(r.confidence_sequence_95[1])}
        </dd>
      </Group>
      <Group title="Evidence" field="evidence">
        <EvidenceRows name="ln E" log={r.log_evidence} level={r.log_threshold} sinceLabel="Since" since={r.since} />
        <dt>Judged queries</dt>
        <dd>{r.queries}</dd>
      </Group>
      <Group title="Calibration" field="calibration">
        <CalibrationRows id={r.calibration_id} version={r.index_version} />
      </Group>
    </div>
  );
}

/** A number of an alert's details, or null (details are stored JSON: read, not trusted). */
const numberOf = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

/**
 * A promotion's pause or rollback (promotion_paused, promotion_rolled_back): details are the transition's cause and the
 * step's numbers (src/promotions/arm-evidence.ts decisionNumbers), as GET /v1/promotions/{id}'s `evidence` gave them.
 */
function PromotionNumbers(props: { details: Record<string, unknown> }) {
  const d = props.details;
  const vsControl = LiveDecision.safeParse(d.vs_control);
  const vsTarget = LiveDecision.safeParse(d.vs_target);
  const alarm = typeof d.drift_alarm === "object" && d.drift_alarm !== null ? (d.drift_alarm as Record<string, unknown>) : null;
  return (
    <div class="cards">
      <Group title="Candidate arm against control, this step" field="rate">
        <dt>Why</dt>
        <dd data-field="cause">{String(d.cause ?? "–").replaceAll("_", " ")}</dd>
        <dt>Candidate</dt>
        <dd data-field="observed">
          {pct(numberOf(d.candidate_drop_rate))} over {numberOf(d.candidate_queries) ?? "–"} queries
        </dd>
        <dt>Control</dt>
        <dd data-field="expected">
          {pct(numberOf(d.control_drop_rate))} over {numberOf(d.control_queries) ?? "–"} queries
        </dd>
        <dt>Vs control</dt>
        <dd data-field="vs-control">{vsControl.success ? decisionWords(vsControl.data) : "–"}</dd>
        <dt>Vs target</dt>
        <dd data-field="vs-target">{vsTarget.success ? decisionWords(vsTarget.data) : "–"}</dd>
      </Group>
      {alarm && (
        <Group title="The candidate arm's drift alarm" field="evidence">
          <dt>Test</dt>
          <dd>{String(alarm.kind ?? "–")}</dd>
          <dt>At</dt>
          <dd>{when(typeof alarm.at === "string" ? alarm.at : null)}</dd>
          <dt>Observed</dt>
          <dd>
            {pct(numberOf(alarm.observed))} over {numberOf(alarm.queries) ?? "–"} queries
          </dd>
          <dt>Expected</dt>
          <dd>{pct(numberOf(alarm.expected))}</dd>
          <dt>ln R</dt>
          <dd>
            {num(numberOf(alarm.log_evidence), 2)} (alarm at {num(numberOf(alarm.log_threshold), 2)})
          </dd>
        </Group>
      )}
    </div>
  );
}

/** The numbers of one occurrence, by meaning where its kind is known, else as plain rows. */
export function OccurrenceNumbers(props: { kind: Alert["kind"]; details: Record<string, unknown>; shift?: ShiftContext }) {
  const d = props.details;
  const test: WindowTest | null =
    props.kind === "drop_rate_drift"
      ? "drop_rate"
      : props.kind === "empty_context"
        ? "empty_context"
        : props.kind === "abstention_drift"
          ? "abstention"
          : null;
  if (test !== null) {
    const w = WindowStatus.safeParse(d.window);
    // A window without the test the alert names (details of another shape) reads as plain rows.
    const tested = w.success && (test === "drop_rate" || (test === "empty_context" ? w.data.empty_context : w.data.abstention));
    if (w.success && tested) return <WindowNumbers w={w.data} test={test} />;
  }
  if (props.kind === "rebuild_shift") {
    const s = ShiftReport.safeParse(d.shift);
    if (s.success) return <ShiftNumbers s={s.data} details={d} context={props.shift} />;
  }
  if ((props.kind === "promotion_paused" || props.kind === "promotion_rolled_back") && d.vs_control !== undefined) {
    return <PromotionNumbers details={d} />;
  }
  if (props.kind === "recall_drift") {
    const r = CoverageStatus.safeParse(d.recall);
    if (r.success) return <RecallNumbers r={r.data} />;
  }
  return <RawNumbers details={d} />;
}

/** Every number of an occurrence, nested objects and arrays flattened into dotted keys, in order. */
function detailRows(value: unknown, prefix = ""): [key: string, value: unknown][] {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    // An array of plain values reads best on one line.
    if (Array.isArray(value) && value.every((v) => v === null || typeof v !== "object")) return [[prefix, value]];
    return entries.flatMap(([k, v]) => detailRows(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

const detailText = (v: unknown): string =>
  typeof v === "number" ? String(Number(v.toPrecision(6))) : Array.isArray(v) ? v.map((x) => detailText(x)).join(", ") : String(v);

export function RawNumbers(props: { details: Record<string, unknown> }) {
  return (
    <Table
      name="details"
      rows={detailRows(props.details)}
      columns={[
        { header: "Field", rowHeader: true, attrs: () => ({ class: "key" }), cell: ([key]) => <code>{key}</code> },
        { header: "Value", cell: ([, value]) => detailText(value) },
      ]}
    />
  );
}
