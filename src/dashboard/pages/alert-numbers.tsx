/**
 * An alert's numbers laid out by meaning, one layout per kind (a drift window's rate test, a rebuild shift in
 * alert-shift-numbers.tsx, a recall coverage test, a promotion's stop, an uncalibrated gate's callers in
 * alert-uncalibrated.tsx), and every number of an occurrence as plain rows:
 * what the alert page shows of each occurrence.
 */
import type { Child } from "hono/jsx";
import type { z } from "zod";
import {
  type Alert,
  type CoverageStatus,
  PromotionStopDetails,
  RecallAlertDetails,
  ShiftAlertDetails,
  WindowAlertDetails,
  type WindowStatus,
} from "../../contract";
import { asShown, count, fixed, num, pct, points } from "../charts/scale";
import type { SuggestedGate } from "../data/uncalibrated";
import { CalibrationRows, EvidenceRows, Group } from "./alert-number-parts";
import { type ShiftContext, ShiftNumbers } from "./alert-shift-numbers";
import { UncalibratedNumbers } from "./alert-uncalibrated";
import { when } from "./layout";
import { decisionWords } from "./promotion";
import { Table } from "./table";

/** Which of a drift window's rate tests an alert is about. */
type WindowTest = "drop_rate" | "empty_context" | "abstention";

/**
 * A drift window's numbers (drop_rate_drift, empty_context, abstention_drift): details.window. A min_keep gate's
 * window (`empty_context_level`) counts in `empty_context` and `empty_queries` the queries where the guard bound, not
 * queries left empty (as its summary says), so the cards say so.
 */
function WindowNumbers(props: { w: WindowStatus; test: WindowTest; began: ShiftBegan | null }) {
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
    props.test === "abstention"
      ? `the window's ${count(w.abstention_queries ?? 0)} queries that reported abstention`
      : `the window's ${count(w.queries)} queries`;
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
        {/* the difference of the two figures above as they read (60.0 % and 22.0 %: +38.0 points, never +37.9) */}
        <dd data-field="difference">{t.observed === null ? "–" : points(asShown(t.observed) - asShown(cmp.expected))}</dd>
        <dt>Tolerance band</dt>
        <dd data-field="band">
          {pct(cmp.band.lo)} to {pct(cmp.band.hi)}
        </dd>
      </Group>
      <Group title="Evidence of a shift" field="evidence">
        {props.began && (
          <>
            <dt>Shift began around</dt>
            <dd data-field="shift-began">
              {when(props.began.at)}
              <div class="muted">
                the first occurrence's change point{props.began.version === w.index_version ? "" : ` (on ${props.began.version})`}: the evidence below
                restarts after each alarm
              </div>
            </dd>
          </>
        )}
        <EvidenceRows name="ln R" log={t.log_evidence} level={w.log_threshold} sinceLabel="Accumulating since" since={t.evidence_since} />
        <dt>Over the latest</dt>
        <dd data-field="evidence-queries">{t.evidence_queries === null ? "–" : `${count(t.evidence_queries)} queries`}</dd>
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
        <dd>{count(w.queries)}</dd>
        <dt>Candidates, dropped</dt>
        <dd>
          {count(w.candidates)}, {count(w.dropped)}
        </dd>
        {/* short labels: the card's label column is as wide as its longest label, and must fit a 375 px screen */}
        <dt>{guarded ? "Guard bound" : "Empty queries"}</dt>
        <dd data-field="empty-queries">
          {count(w.empty_queries)}
          {guarded && ` (min_keep ${level})`}
        </dd>
        {/* a calibration that never abstains has no abstention to count: the row is for one that does, or for reports */}
        {w.abstention_queries !== undefined && (w.abstention != null || w.abstention_queries > 0) && (
          <>
            <dt>Abstained</dt>
            <dd data-field="abstention-queries">
              {count(w.abstained_queries ?? 0)} of the {count(w.abstention_queries ?? 0)} that reported abstention
            </dd>
          </>
        )}
      </Group>
      <Group title="Calibration" field="calibration">
        <CalibrationRows id={w.calibration_id} version={w.index_version} />
        <dt>Candidates / query</dt>
        <dd>
          {w.mean_candidates === null ? "–" : num(w.mean_candidates, 1)} (calibration{" "}
          {w.expected_mean_candidates === null ? "not known: uploaded as scores" : num(w.expected_mean_candidates, 1)})
        </dd>
      </Group>
    </div>
  );
}

/** When a drift shift began, as well as the alert can tell: the first occurrence's change point, and its window's version. */
interface ShiftBegan {
  readonly at: string;
  readonly version: string;
}

/**
 * The first occurrence's change point of the test (`evidence_since`: when the start with the most evidence opened), the
 * best estimate of when the shift began: a later occurrence's restarts with the detector after each alarm. Null when the
 * first occurrence's details hold no window with that test, or no change point.
 */
function shiftBegan(first: Record<string, unknown> | undefined, test: WindowTest): ShiftBegan | null {
  const parsed = WindowAlertDetails.safeParse(first);
  if (!parsed.success) return null;
  const w = parsed.data.window;
  const t = test === "empty_context" ? w.empty_context : test === "abstention" ? w.abstention : w.drop_rate;
  return t?.evidence_since ? { at: t.evidence_since, version: w.index_version } : null;
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
        <dd>{count(r.queries)}</dd>
      </Group>
      <Group title="Calibration" field="calibration">
        <CalibrationRows id={r.calibration_id} version={r.index_version} />
      </Group>
    </div>
  );
}

/**
 * What a promotion's pause or rollback (promotion_paused, promotion_rolled_back) shows of its details: the transition's
 * cause and the step's numbers (src/promotions/arm-evidence.ts decisionNumbers), as GET /v1/promotions/{id}'s
 * `evidence` gave them. Typed by the contract (PromotionStopDetails), so a field renamed there fails the typecheck here.
 */
const PromotionStopShown = PromotionStopDetails.pick({
  cause: true,
  vs_control: true,
  vs_target: true,
  candidate_queries: true,
  control_queries: true,
  candidate_drop_rate: true,
  control_drop_rate: true,
  drift_alarm: true,
});
type PromotionStopShown = z.infer<typeof PromotionStopShown>;

function PromotionNumbers(props: { d: PromotionStopShown }) {
  const d = props.d;
  const alarm = d.drift_alarm;
  return (
    <div class="cards">
      <Group title="Candidate arm against control, this step" field="rate">
        <dt>Why</dt>
        <dd data-field="cause">{d.cause.replaceAll("_", " ")}</dd>
        <dt>Candidate</dt>
        <dd data-field="observed">
          {pct(d.candidate_drop_rate)} over {d.candidate_queries} queries
        </dd>
        <dt>Control</dt>
        <dd data-field="expected">
          {pct(d.control_drop_rate)} over {d.control_queries} queries
        </dd>
        <dt>Vs control</dt>
        <dd data-field="vs-control">{decisionWords(d.vs_control)}</dd>
        <dt>Vs target</dt>
        <dd data-field="vs-target">{decisionWords(d.vs_target)}</dd>
      </Group>
      {alarm && (
        <Group title="The candidate arm's drift alarm" field="evidence">
          <dt>Test</dt>
          <dd>{alarm.kind}</dd>
          <dt>At</dt>
          <dd>{when(alarm.at)}</dd>
          <dt>Observed</dt>
          <dd>
            {pct(alarm.observed)} over {alarm.queries} queries
          </dd>
          <dt>Expected</dt>
          <dd>{pct(alarm.expected)}</dd>
          <dt>ln R</dt>
          <dd>
            {fixed(alarm.log_evidence, 1)} (alarm at {fixed(alarm.log_threshold, 1)})
          </dd>
        </Group>
      )}
    </div>
  );
}

/** What an alert page lays out by meaning besides the occurrence's details: what is served now, the gates suggested. */
export interface NumbersContext {
  readonly shift?: ShiftContext | undefined;
  /** An uncalibrated_request occurrence's suggestions, with their gate ids (data/uncalibrated.ts). */
  readonly suggestions?: readonly SuggestedGate[] | undefined;
  /** The first occurrence's details (the alert's own `details`): a drift window's change point ("Shift began around"). */
  readonly first?: Record<string, unknown> | undefined;
}

/**
 * The numbers of one occurrence laid out by meaning, or null where its kind has no layout or its details another shape:
 * the page then shows the plain rows (RawNumbers) once, not a layout and the same rows again.
 */
export function numbersByMeaning(kind: Alert["kind"], details: Record<string, unknown>, context: NumbersContext = {}): Child {
  const d = details;
  const test: WindowTest | null =
    kind === "drop_rate_drift" ? "drop_rate" : kind === "empty_context" ? "empty_context" : kind === "abstention_drift" ? "abstention" : null;
  if (test !== null) {
    const parsed = WindowAlertDetails.safeParse(d);
    const w = parsed.success ? parsed.data.window : null;
    // A window without the test the alert names (details of another shape) reads as plain rows.
    const tested = w !== null && (test === "drop_rate" || (test === "empty_context" ? w.empty_context : w.abstention));
    if (w !== null && tested) return <WindowNumbers w={w} test={test} began={shiftBegan(context.first, test)} />;
  }
  if (kind === "rebuild_shift") {
    const s = ShiftAlertDetails.pick({ shift: true }).safeParse(d);
    if (s.success) return <ShiftNumbers s={s.data.shift} details={d} context={context.shift} />;
  }
  if (kind === "promotion_paused" || kind === "promotion_rolled_back") {
    const p = PromotionStopShown.safeParse(d);
    if (p.success) return <PromotionNumbers d={p.data} />;
  }
  if (kind === "recall_drift") {
    const r = RecallAlertDetails.safeParse(d);
    if (r.success) return <RecallNumbers r={r.data.recall} />;
  }
  if (kind === "uncalibrated_request") return <UncalibratedNumbers details={d} suggestions={context.suggestions ?? []} />;
  return null;
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

/** A stored value as text: numbers to 6 significant digits, lists on one line ("none" when empty), "–" for JSON null. */
const detailText = (v: unknown): string =>
  v === null || v === undefined
    ? "–"
    : typeof v === "number"
      ? String(Number(v.toPrecision(6)))
      : Array.isArray(v)
        ? v.length === 0
          ? "none"
          : v.map((x) => detailText(x)).join(", ")
        : String(v);

export function RawNumbers(props: { details: Record<string, unknown> }) {
  return (
    <Table
      name="details"
      caption="Each field as stored with the alert; – where it holds no value, none for an empty list"
      captionClass="muted"
      rows={detailRows(props.details)}
      columns={[
        { header: "Field", rowHeader: true, attrs: () => ({ class: "key" }), cell: ([key]) => <code>{key}</code> },
        { header: "Value", cell: ([, value]) => detailText(value) },
      ]}
    />
  );
}
