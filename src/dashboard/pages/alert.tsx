/**
 * One alert, for the person paged by it: what happened in one sentence (the latest occurrence's summary), its numbers
 * laid out by meaning (observed against expected, the band, the evidence, the window, the calibration), every
 * occurrence, what was done about it, and (for sessions whose scope may read them, as in the API) its webhook
 * deliveries. The raw numbers stay one click away.
 */
import type { Child } from "hono/jsx";
import { type Alert, type AlertOccurrence, CoverageStatus, MAX_NOTE_LENGTH, ShiftReport, WindowStatus } from "../../contract";
import type { Principal } from "../../platform/auth";
import { grants } from "../../platform/auth";
import { num, pct } from "../charts/scale";
import type { AlertView } from "../data";
import { AdminForm, gateName, Layout, when } from "./layout";
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
        <dd data-field="expected">{pct(t.expected)}</dd>
        <dt>Difference</dt>
        <dd>{t.observed === null ? "–" : points(t.observed - t.expected)}</dd>
        <dt>Tolerance band</dt>
        <dd data-field="band">
          {pct(t.band.lo)} to {pct(t.band.hi)}
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

/** A rebuild shift's numbers: details.shift. */
function ShiftNumbers(props: { s: ShiftReport; details: Record<string, unknown> }) {
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
      <Group title="Calibrations" field="calibration">
        <dt>Before</dt>
        <dd>
          <code>{s.previous_calibration_id}</code>
        </dd>
        <dt>Served since</dt>
        <dd>
          {String(props.details.index_version ?? "–")}, threshold {num(props.details.threshold as number | null)}
        </dd>
      </Group>
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

/** The numbers of one occurrence, by meaning where its kind is known, else as plain rows. */
function OccurrenceNumbers(props: { kind: Alert["kind"]; details: Record<string, unknown> }) {
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
    if (s.success) return <ShiftNumbers s={s.data} details={d} />;
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

function RawNumbers(props: { details: Record<string, unknown> }) {
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

/**
 * The notice after an action that changed nothing because the alert was already past it (`done` is
 * "already-resolved" or "already-acknowledged", set by the dashboard's action routes); null for any other `done`.
 */
export function alertActionNotice(done: string, a: Alert): string | null {
  if (done === "already-resolved" && a.resolved_at !== null) {
    return `This alert was already resolved at ${when(a.resolved_at)} by ${a.resolved_by ?? "–"}: nothing changed.`;
  }
  if (done === "already-acknowledged" && a.acknowledged_at !== null) {
    return `This alert was already acknowledged at ${when(a.acknowledged_at)} by ${a.acknowledged_by ?? "–"}: nothing changed.`;
  }
  return null;
}

/** Acknowledge or Resolve, with an optional note bounded as the API bounds it (MAX_NOTE_LENGTH). */
function ActionForm(props: { alertId: string; action: "acknowledge" | "resolve"; csrf: string; label: string; secondary?: boolean }) {
  const noteId = `note-${props.action}`;
  return (
    <form method="post" action={`/ui/alerts/${props.alertId}/${props.action}`} class="inline action" data-action={props.action}>
      <input type="hidden" name="csrf" value={props.csrf} />
      <label for={noteId} class="muted">
        Note (optional)
      </label>
      <input id={noteId} name="note" type="text" maxlength={MAX_NOTE_LENGTH} size={24} />{" "}
      <button type="submit" class={props.secondary ? "secondary" : undefined}>
        {props.label}
      </button>
    </form>
  );
}

/** Who acknowledged and resolved the alert, when, and with which note. */
function AuditTrail(props: { alert: Alert }) {
  const a = props.alert;
  const steps = [
    { field: "acknowledged", verb: "Acknowledged", at: a.acknowledged_at, by: a.acknowledged_by, note: a.acknowledged_note },
    { field: "resolved", verb: "Resolved", at: a.resolved_at, by: a.resolved_by, note: a.resolved_note },
  ].filter((step) => step.at !== null);
  if (steps.length === 0) return null;
  return (
    <ul class="audit" data-field="audit">
      {steps.map((step) => (
        <li data-step={step.field}>
          {step.verb} at {when(step.at)} by {step.by ?? "–"}
          {step.note !== null && (
            <>
              {": "}
              <span data-field={`${step.field}-note`}>{step.note}</span>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

export function AlertPage(props: { view: AlertView; principal: Principal; csrf: string; flash: string | null }) {
  const a = props.view.alert;
  const admin = grants(props.principal.scope, "admin");
  // The latest occurrence's numbers (the alert itself keeps its first); alerts stored before occurrences had none.
  const latest: Pick<AlertOccurrence, "summary" | "details" | "seen_at"> = props.view.occurrences[0] ?? {
    summary: a.summary,
    details: a.details,
    seen_at: a.last_seen_at,
  };
  // Occurrences numbered 1..N within the alert as the API numbers them (seq is a counter shared by every alert).
  const numbered = props.view.occurrences.map((o) => ({ o, n: o.number }));
  return (
    <Layout title={`Alert ${a.kind}`} principal={props.principal} csrf={props.csrf} current="alerts">
      <p>
        <a href="/ui/alerts">All alerts</a> · <a href={`/ui/gates/${a.gate_id}`}>gate {gateName(a.gate)}</a>
      </p>
      <h1>
        {a.kind}{" "}
        <span class={`badge ${a.status}`} data-field="status">
          {a.status}
        </span>
      </h1>
      {props.flash && (
        <p class="notice" role="status">
          {props.flash}
        </p>
      )}
      <p class="lead" data-field="summary">
        {latest.summary}
      </p>
      <p class="muted">
        {a.occurrences === 1 ? "Seen once" : `Seen ${a.occurrences} times`}, first at {when(a.first_seen_at)}, last at {when(a.last_seen_at)}.
      </p>
      <AuditTrail alert={a} />
      {admin ? (
        a.status !== "resolved" && (
          <div class="actions">
            {a.status === "open" && <ActionForm alertId={a.id} action="acknowledge" csrf={props.csrf} label="Acknowledge" />}
            <ActionForm alertId={a.id} action="resolve" csrf={props.csrf} label="Resolve" secondary />
          </div>
        )
      ) : (
        <p class="muted">Acknowledging and resolving need an admin token.</p>
      )}
      <h2 id="latest">Latest occurrence ({when(latest.seen_at)})</h2>
      <OccurrenceNumbers kind={a.kind} details={latest.details} />
      <details>
        <summary>Every number of the latest occurrence</summary>
        <RawNumbers details={latest.details} />
      </details>

      <h2 id="occurrences">All occurrences ({a.occurrences})</h2>
      <Table
        name="occurrences"
        caption={a.occurrences > props.view.occurrences.length ? `The newest ${props.view.occurrences.length}` : "Newest first"}
        captionClass="muted"
        rows={numbered}
        rowAttrs={({ o }) => ({ "data-occurrence": String(o.seq) })}
        columns={[
          { header: "Occurrence", num: true, cell: ({ n }) => n },
          { header: "Seen", cell: ({ o }) => when(o.seen_at) },
          { header: "Summary", cell: ({ o }) => o.summary },
        ]}
      />

      <h2 id="deliveries">Webhook deliveries</h2>
      {props.view.deliveries === null ? (
        <p class="muted" data-field="deliveries-hidden">
          Webhook deliveries need an admin token, as in the API (GET /v1/webhooks/deliveries).
        </p>
      ) : props.view.deliveries.length === 0 ? (
        <p>No webhook deliveries for this alert (no endpoint was enabled when it was raised).</p>
      ) : (
        <Table
          name="deliveries"
          rows={props.view.deliveries}
          rowAttrs={(d) => ({ "data-delivery": d.id })}
          columns={[
            { header: "Event", cell: (d) => d.event_type },
            { header: "Endpoint", cell: (d) => <code>{d.endpoint_id}</code> },
            { header: "Status", cell: (d) => <span class={`badge ${d.status}`}>{d.status}</span> },
            { header: "Attempts", num: true, cell: (d) => d.attempts },
            {
              header: "Last response",
              cell: (d) => (d.last_status === null ? (d.last_error ?? "–") : `HTTP ${d.last_status}${d.last_error ? `: ${d.last_error}` : ""}`),
            },
            { header: "Next attempt", cell: (d) => when(d.next_attempt_at) },
            admin && {
              header: "Action",
              cell: (d) => (
                <AdminForm
                  action={`/ui/deliveries/${d.id}/replay`}
                  csrf={props.csrf}
                  extra={{ alert_id: a.id }}
                  label="Replay"
                  name={`Replay delivery ${d.id}`}
                  secondary
                />
              ),
            },
          ]}
        />
      )}
    </Layout>
  );
}
