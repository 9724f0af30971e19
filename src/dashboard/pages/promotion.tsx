/**
 * The gate page's promotion timeline: for each recent guarded promotion, the candidate's share of keyed traffic after
 * every transition (an SVG step line, pauses and rollbacks marked), and the audit trail as a table (its text
 * alternative: every point of the line is a row).
 */
import { type Calibration, LiveDecision, type Promotion, type PromotionStepRecord, type StepEvidence } from "../../contract";
import { LIVE_EQUIVALENCE_ALPHA, LIVE_SHIFT_ALPHA } from "../../monitoring/live-decision";
import { shownId } from "../../platform/format";
import { count, inPoints, num, pct, percent, textWidth, unitsJoined } from "../charts/scale";
import type { GateView, PromotionCount } from "../data/gate";
import { versionName } from "./calibration-roles";
import { gateName, when } from "./layout";
import { Table } from "./table";

/**
 * The step chart's two layouts (one shown at a time by the stylesheet's media query, as the other charts): on a phone
 * the narrow one keeps its labels at their size, in two rows when its slots are too narrow for one.
 */
const LAYOUTS = {
  wide: { W: 720, H: 200, M: { top: 14, right: 20, bottom: 28, left: 48 } },
  narrow: { W: 360, H: 220, M: { top: 14, right: 12, bottom: 42, left: 48 } },
} as const;
/** A transition's label width in viewBox units at 12 px ("rolled back", the longest, is about 70), an estimate that errs wide. */
const LABEL_WIDTH = 80;
/** The least room between two labels of a row, in viewBox units. */
const LABEL_GAP = 4;
const MARK = { paused: "#a86b00", rolled_back: "#a8401a", superseded: "#555" } as const;

/** Percentage points to one decimal, signed ("+5.0", "-1.2"), as the alert sentences write them. */
const signedPoints = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}`;

/**
 * The candidate against control as a transition recorded it (automatic decisions and overrides record the step's
 * evidence in `numbers`): the decision, the change in drop rate and its 95 % interval, in percentage points.
 */
function vsControl(s: PromotionStepRecord): string {
  const d = LiveDecision.safeParse(s.numbers.vs_control);
  return d.success ? decisionWords(d.data) : "–";
}

/** A live decision as the pages write it: "shifted, +25.6 points (95 %: +21.0 to +30.2)". */
export function decisionWords(d: LiveDecision): string {
  if (d.change === null) return d.decision;
  const interval = d.interval95 === null ? "" : ` (95 %: ${signedPoints(d.interval95[0])} to ${signedPoints(d.interval95[1])})`;
  return `${d.decision}, ${inPoints(signedPoints(d.change))}${interval}`;
}

/**
 * A calibration by its index version (with its id's end when another has the version), its id as the title (the id
 * alone when the gate's history lacks it).
 */
function CalibrationRef(props: { id: string; calibrations: readonly Calibration[] }) {
  const c = props.calibrations.find((x) => x.id === props.id);
  // "v2 over v2" would not say which is which: the id's end when another calibration has the version
  return c === undefined ? <code>{props.id}</code> : <abbr title={props.id}>{versionName(c, props.calibrations)}</abbr>;
}

/** The two-sided level a live decision reads its confidence sequence at, 1 - 2 alpha (docs/drift.md): "99.8 %". */
const levelOf = (alpha: number): string => percent(num((1 - 2 * alpha) * 100, 1));

/**
 * The candidate arm's drift detector in words: its state, its evidence against the alarm level, and the drop rate it
 * expects (for the arm's own query sizes when its test is stratified: a guarded candidate).
 */
function armDriftWords(d: StepEvidence["candidate_drift"]): string {
  if (d === null) return "no batch yet";
  const t = d.window.drop_rate;
  const state = d.alarm !== null || t.alarm ? "alarm" : t.armed ? "watching" : "not armed";
  const sizes = t.strata_tested === undefined ? "" : " for the query sizes the candidate arm sent this step";
  return `${state}, ln R ${num(t.log_evidence, 1)} of ${num(d.window.log_threshold, 1)}, expected ${pct(t.expected)}${sizes} (tolerated ${pct(t.band.lo)} to ${pct(t.band.hi)})`;
}

/**
 * The running or paused step's live numbers (the promotion's `evidence`, as GET /v1/promotions/{id} gives them): each
 * arm's queries and drop rate this step, the candidate against control and against its calibration's expected rate,
 * and the candidate arm's drift detector (its expected rate is for the arm's query sizes when its test is stratified).
 */
function StepNow(props: { p: Promotion; e: StepEvidence }) {
  const { p, e } = props;
  return (
    <div data-field="step-evidence">
      <p>
        Step {e.step + 1} so far ({percent(p.percent)} of keyed traffic):
      </p>
      <ul>
        <li>
          candidate arm: {pct(e.candidate_drop_rate)} dropped over {count(e.candidate_queries)} queries; control arm: {pct(e.control_drop_rate)} over{" "}
          {count(e.control_queries)} queries
        </li>
        <li>against control: {decisionWords(e.vs_control)}</li>
        <li>
          against the candidate calibration's expected rate: {decisionWords(e.vs_target)}
          {/* a guarded calibration's target is its expectation for the arm's own query sizes (docs/drift.md) */}
          {e.candidate_drift?.window.drop_rate.strata_tested !== undefined && " (for the query sizes the candidate arm sent this step)"}
        </li>
        <li class="muted" data-field="decision-levels">
          shifted when the {levelOf(LIVE_SHIFT_ALPHA)} confidence sequence lies beyond ±{inPoints(num(e.vs_control.tolerance * 100, 1))}, equivalent
          when the {levelOf(LIVE_EQUIVALENCE_ALPHA)} one lies within; the 95 % one is shown, so it can clear the tolerance while the decision is still
          inconclusive
        </li>
        <li data-field="arm-drift">
          candidate arm's drift detector: {armDriftWords(e.candidate_drift)}
          {e.candidate_drift?.alarm && <div>{unitsJoined(e.candidate_drift.alarm.summary)}</div>}
        </li>
      </ul>
    </div>
  );
}

/**
 * What the promotion does, after its state: an open one's step and the share its candidate is served; a closed one's
 * step and how it ended, in the past tense (what the gate serves now is the history's to say: a calibration may be
 * activated by hand after any of them).
 */
export function stateWords(p: Pick<Promotion, "state" | "step" | "percent" | "plan">): string {
  const step = `step ${p.step + 1} of ${p.plan.steps.length}`;
  switch (p.state) {
    case "running":
      return `, ${step} (${percent(p.percent)} of keyed traffic)`;
    case "paused":
      return ` at ${step}: the candidate keeps its ${percent(p.percent)} of keyed traffic until a person resumes or rolls back the promotion`;
    case "completed":
      return ` after ${step}: the candidate was activated`;
    case "rolled_back":
      return ` at ${step}: its keyed traffic went back to the control`;
    case "superseded":
      return ` at ${step}: an activation of the gate ended it`;
    default: {
      const never: never = p.state;
      throw new TypeError(`unknown promotion state ${String(never)}`);
    }
  }
}

/**
 * The share after each transition as a step line, one slot per transition (their times are in the table). The first
 * label is anchored at its start and the last at its end, so neither runs past the chart's edge.
 */
function Timeline(props: { p: Promotion; layout: keyof typeof LAYOUTS }) {
  const { W, H, M } = LAYOUTS[props.layout];
  const steps = props.p.steps;
  const n = Math.max(1, steps.length - 1);
  const x = (i: number) => M.left + ((W - M.left - M.right) * i) / n;
  const y = (percent: number) => H - M.bottom - ((H - M.top - M.bottom) * percent) / 100;
  // two rows of labels when a slot is narrower than a label (the narrow layout with several transitions)
  const twoRows = (W - M.left - M.right) / n < LABEL_WIDTH && steps.length > 2;
  const anchor = (i: number) => (i === 0 ? "start" : i === steps.length - 1 ? "end" : "middle");
  const label = (i: number) => steps[i]!.kind.replace("_", " ");
  const span = (i: number): [number, number] => {
    const w = textWidth(label(i), 12);
    const left = anchor(i) === "start" ? x(i) : anchor(i) === "end" ? x(i) - w : x(i) - w / 2;
    return [left, left + w];
  };
  // Which labels are drawn: the first and the last always, then each other one in its row when it clears the labels
  // beside it there (LABEL_GAP apart); with many transitions some are left out, every one stays in the table below.
  const drawn = new Set<number>([0, steps.length - 1]);
  const rowOf = (i: number) => (twoRows ? i % 2 : 0);
  for (let i = 1; i < steps.length - 1; i++) {
    const [left, right] = span(i);
    const clear = [...drawn].every((j) => rowOf(j) !== rowOf(i) || span(j)[1] + LABEL_GAP <= left || right + LABEL_GAP <= span(j)[0]);
    if (clear) drawn.add(i);
  }
  let d = "";
  steps.forEach((s, i) => {
    d += i === 0 ? `M${x(0)},${y(s.percent)}` : `H${x(i)}V${y(s.percent)}`;
  });
  const title = `Promotion ${props.p.id}: the candidate's share of keyed traffic after each transition`;
  const desc = steps.map((s) => `${s.kind} ${percent(s.percent)}`).join(", ");
  return (
    <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${desc}`} data-chart="promotion" data-layout={props.layout}>
      {[0, 50, 100].map((t) => (
        <g>
          <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} stroke="#e3e5e8" />
          <text x={M.left - 8} y={y(t) + 4} textAnchor="end" fontSize="12" fill="#1a1a1a">
            {percent(t)}
          </text>
        </g>
      ))}
      <path d={d} fill="none" stroke="#1f5fa8" strokeWidth="2.5" />
      {steps.map((s, i) => {
        const color = MARK[s.kind as keyof typeof MARK] ?? "#1f5fa8";
        return (
          <g data-step={s.kind}>
            <circle cx={x(i)} cy={y(s.percent)} r={s.kind in MARK ? 6 : 4} fill={color} stroke="#fff" strokeWidth="1" />
            {drawn.has(i) && (
              <text x={x(i)} y={rowOf(i) === 1 ? H - 6 : H - (twoRows ? 22 : 8)} textAnchor={anchor(i)} fontSize="12" fill="#1a1a1a">
                {label(i)}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

/**
 * Where a link to a promotion's timeline goes: the gate page with the promotion named (`?promotion=`, so the page
 * shows its timeline even when it is older than the newest GATE_PAGE_PROMOTIONS) and its section as the fragment.
 */
export function promotionHref(gateId: string, promotionId: string): string {
  return `/ui/gates/${gateId}?promotion=${encodeURIComponent(promotionId)}#promotion-${promotionId}`;
}

/** One promotion's section: what it is and does, its live numbers while open, its step line and its audit table. */
function PromotionSection(props: { p: Promotion; calibrations: readonly Calibration[]; note?: string }) {
  const { p } = props;
  return (
    <section id={`promotion-${p.id}`} aria-label={`promotion ${p.id}`} data-promotion={p.id}>
      {props.note !== undefined && (
        <p class="muted" data-field="asked-promotion">
          {props.note}
        </p>
      )}
      <p>
        <CalibrationRef id={p.candidate_calibration_id} calibrations={props.calibrations} /> over{" "}
        <CalibrationRef id={p.control_calibration_id} calibrations={props.calibrations} />: <strong data-field="promotion-state">{p.state}</strong>
        <span data-field="promotion-now">{stateWords(p)}</span>; plan {percent(p.plan.steps.join(" → "))}, at least {count(p.plan.min_queries)}{" "}
        candidate queries a step, on regression {p.plan.on_regression}
      </p>
      {p.evidence !== null && <StepNow p={p} e={p.evidence} />}
      <div class="layouts">
        <div class="wide-only">
          <Timeline p={p} layout="wide" />
        </div>
        <div class="narrow-only">
          <Timeline p={p} layout="narrow" />
        </div>
      </div>
      <Table<PromotionStepRecord>
        name="promotion-steps"
        caption="Every transition, oldest first"
        captionClass="muted"
        rows={p.steps}
        rowAttrs={(s) => ({ "data-step": s.kind })}
        columns={[
          { header: "When", cell: (s) => when(s.at) },
          { header: "Transition", cell: (s) => s.kind.replace("_", " ") },
          { header: "Share", num: true, cell: (s) => percent(s.percent) },
          { header: "Why", cell: (s) => s.cause.replaceAll("_", " ") },
          { header: "Candidate vs control", cell: vsControl },
          { header: "By", cell: (s) => s.actor },
          { header: "Reason", cell: (s) => s.reason ?? "" },
          { header: "Event", num: true, cell: (s) => (s.seq === null ? "–" : String(s.seq)) },
        ]}
      />
    </section>
  );
}

/**
 * "The newest 3 of 7 promotions are shown ...": what the page leaves out and where to read it, when it shows fewer
 * promotions than the gate has had (null otherwise).
 */
function ShownLine(props: { gateId: string; shown: number; count: PromotionCount; older: Promotion | null }) {
  const { shown, count: c } = props;
  if (!c.more && c.total <= shown) return null;
  const of = c.more ? `more than ${c.total}` : String(c.total);
  return (
    <p data-field="promotions-shown">
      The newest {shown} of {of} promotions are shown, newest first
      {props.older !== null && (
        <>
          , then <a href={`#promotion-${props.older.id}`}>{props.older.id}</a>, the older one the link named
        </>
      )}
      . Every promotion of the gate: <code>GET /v1/gates/{props.gateId}/promotions</code> (newest first, paged with its cursor); one with every
      transition: <code>scoregate promotion ID</code> or <code>GET /v1/promotions/ID</code>.
    </p>
  );
}

/**
 * Recent promotions of the gate, newest first, then the older one a link named (`asked`, promotionHref); nothing when
 * the gate has none. `count`: how many the gate has had, said when more than are shown (the promotions' number when
 * not given).
 */
export function PromotionTimeline(props: {
  promotions: readonly Promotion[];
  calibrations: readonly Calibration[];
  gateId?: string;
  count?: PromotionCount;
  asked?: Promotion | null;
}) {
  if (props.promotions.length === 0) return null;
  const older = props.asked ?? null;
  return (
    <>
      <h2 id="promotions">Promotions</h2>
      {props.gateId !== undefined && props.count !== undefined && (
        <ShownLine gateId={props.gateId} shown={props.promotions.length} count={props.count} older={older} />
      )}
      {props.promotions.map((p) => (
        <PromotionSection p={p} calibrations={props.calibrations} />
      ))}
      {older !== null && (
        <PromotionSection
          p={older}
          calibrations={props.calibrations}
          note={`Older than the newest ${props.promotions.length}: shown because the link you followed named it.`}
        />
      )}
    </>
  );
}

/**
 * Why the promotion a link named (`?promotion=`) is not on the page: there is no such promotion, or it is another
 * gate's (linked there when that gate is listed). Nothing when none was named or it is shown.
 */
export function AskedPromotionNotice(props: { view: GateView }) {
  const v = props.view;
  const asked = v.askedPromotion;
  if (asked === null || asked.kind === "older") return null;
  const ours =
    v.promotions.length === 0 ? (
      " This gate has had no promotion."
    ) : (
      <>
        {" "}
        This gate's newest are under <a href="#promotions">Promotions</a>.
      </>
    );
  return (
    <p class="notice" role="status" data-field="promotion-notice">
      {asked.kind === "missing" ? (
        <>There is no promotion {shownId(asked.id)}, so this page cannot show it.</>
      ) : asked.gate === null ? (
        <>Promotion {shownId(asked.id)} is another gate's, not this one's.</>
      ) : (
        <>
          Promotion {shownId(asked.id)} is another gate's, not this one's: see it on{" "}
          <a href={promotionHref(asked.gate.gate_id, asked.id)}>{gateName(asked.gate)}</a>.
        </>
      )}
      {ours}
    </p>
  );
}
