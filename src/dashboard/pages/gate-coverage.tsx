/**
 * The gate page's coverage section, for a gate whose calibration carries a recall guarantee: what the calibration
 * promises (target, coverage notion, certified bound) and what production shows, each coverage test exactly as
 * GET /v1/monitor reports it (its `recall`, read through the same report: src/monitoring/status.ts). The page adds
 * words, never numbers of its own.
 */
import type { AlarmedCoverage, Calibration, CoverageNotion, MonitorCoverage } from "../../contract";
import { count, counted, num, pct } from "../charts/scale";
import type { GateView } from "../data/gate";
import { ROLE_WORDS } from "./gate-expectation";
import { when } from "./layout";
import { Table } from "./table";

/** What each coverage notion counts (contract/common.ts RecallPolicy). */
export const COVERAGE_WORDS: Record<CoverageNotion, string> = {
  any_relevant: "a query is covered when at least one of its relevant candidates is kept",
  all_relevant: "a query is covered when all of its relevant candidates are kept",
  candidates: "each query counts the share of its relevant candidates kept",
};

/** The recall promise in one line, for the current-threshold box: "recall policy (any_relevant, target 90.0 %)...". */
export function recallPolicyLine(c: Calibration): string | null {
  if (c.policy.kind !== "recall") return null;
  const r = c.recall;
  const bound = r === null ? "" : `, certified coverage at least ${pct(r.coverage_bound)}`;
  return `recall policy (${c.policy.coverage}, target ${pct(c.policy.target)}${bound}), expected drop ${pct(c.expected_drop_rate)}`;
}

/** The coverage test's state in words: whether it can alarm, and whether it has. */
export function coverageState(r: MonitorCoverage): string {
  if (!r.armed)
    return r.not_armed_reason === "calibration_too_small" ? "not armed: the calibration is too small to bound its own coverage" : "not armed";
  if (r.alarm) return "alarm: the evidence reached its level on these numbers";
  return r.queries === 0 ? "armed, no judged query yet" : "watching";
}

/** The coverage test as it stood at its alarm (GET /v1/monitor's `alarmed`, while the recall_drift alarm stands). */
export const alarmedOf = (r: MonitorCoverage): AlarmedCoverage | null => r.alarmed ?? null;

/** Since when the test counts: judgments began then, or it restarted after its last alarm. */
const sinceWords = (r: MonitorCoverage): string =>
  r.alarms > 0 ? `since ${when(r.since)} (the test restarts at each alarm; ${r.alarms} so far)` : `since ${when(r.since)}`;

function CoveragePromise(props: { c: Calibration }) {
  const c = props.c;
  const r = c.recall;
  if (c.policy.kind !== "recall" || r === null) return null;
  return (
    <section class="panel" data-field="coverage-promise" aria-label="What the calibration promises">
      <div class="muted">What {c.index_version} promises</div>
      <dl class="kv numbers">
        <dt>Coverage</dt>
        <dd>
          {c.policy.coverage}: {COVERAGE_WORDS[c.policy.coverage]}
        </dd>
        <dt>Target</dt>
        <dd data-field="coverage-target">{pct(c.policy.target)}</dd>
        <dt>Certified coverage</dt>
        <dd data-field="coverage-bound">
          at least {pct(r.coverage_bound)} on fresh queries like the calibration's ({count(r.n)} labelled queries)
        </dd>
        <dt>Achieved (95 %)</dt>
        <dd>
          centred on {pct(r.expected_coverage ?? r.coverage_bound)}, {pct(r.coverage_interval_95[0])} to {pct(r.coverage_interval_95[1])}
        </dd>
      </dl>
    </section>
  );
}

function Production(props: { r: MonitorCoverage | undefined; version: string }) {
  const r = props.r;
  if (r === undefined) {
    return (
      <section class="panel" data-field="coverage-production" aria-label="Coverage in production">
        <div class="muted">Coverage in production ({props.version})</div>
        <p>No judged queries yet: services send labelled queries with POST /v1/judgments.</p>
      </section>
    );
  }
  const alarmed = alarmedOf(r);
  return (
    <section class="panel" data-field="coverage-production" aria-label="Coverage in production">
      <div class="muted">
        Coverage in production ({r.index_version}, {sinceWords(r)})
      </div>
      <dl class="kv numbers">
        <dt>Judged queries</dt>
        <dd data-field="coverage-queries">
          {count(r.queries)} with a relevant candidate ({count(r.queries_without_relevant)} without one, counted, not tested;{" "}
          {counted(r.batches, "batch", "batches")})
        </dd>
        <dt>Observed coverage</dt>
        <dd data-field="coverage-observed">{pct(r.observed)}</dd>
        <dt>95 % confidence sequence</dt>
        <dd data-field="coverage-cs">
          {pct(r.confidence_sequence_95[0])} to {pct(r.confidence_sequence_95[1])}
        </dd>
        <dt>Expected</dt>
        <dd data-field="coverage-expected">
          {pct(r.expected)}, tolerated down to {pct(r.tolerated)}
        </dd>
        <dt>Detector</dt>
        <dd data-field="coverage-detector">
          {coverageState(r)}; evidence ln E {num(r.log_evidence, 2)} of {num(r.log_threshold, 2)}
        </dd>
      </dl>
      {alarmed !== null && (
        <div data-field="coverage-alarmed">
          <div class="muted">
            The test that alarmed, at {when(alarmed.at)} (the numbers of the recall_drift alert; the figures above are the restarted test's)
          </div>
          <dl class="kv numbers">
            <dt>Judged queries</dt>
            <dd>
              {count(alarmed.queries)} since {when(alarmed.since)}
            </dd>
            <dt>Observed coverage</dt>
            <dd>{pct(alarmed.observed)}</dd>
            <dt>95 % confidence sequence</dt>
            <dd>
              {pct(alarmed.confidence_sequence_95[0])} to {pct(alarmed.confidence_sequence_95[1])}
            </dd>
            <dt>Evidence</dt>
            <dd>
              ln E {num(alarmed.log_evidence, 2)} of {num(alarmed.log_threshold, 2)}
            </dd>
          </dl>
        </div>
      )}
    </section>
  );
}

/**
 * The section: shown for a gate that serves a recall calibration, or whose monitor has coverage tests (a previous or
 * shadow recall calibration); every test the monitor reports is listed in the table.
 */
export function CoverageSection(props: { view: GateView }) {
  const v = props.view;
  const cur = v.current;
  const tests = v.monitor.recall;
  const recallServed = cur !== null && cur.policy.kind === "recall";
  if (!recallServed && tests.length === 0) return null;
  const mine = cur === null ? undefined : tests.find((r) => r.calibration_id === cur.id);
  return (
    <>
      <h2 id="coverage">Coverage</h2>
      <div class="grid">
        {cur !== null && <CoveragePromise c={cur} />}
        {recallServed && <Production r={mine} version={cur.index_version} />}
      </div>
      {tests.length > 0 && (
        <Table
          name="coverage"
          caption="Coverage tests as GET /v1/monitor reports them (recall)"
          rows={tests}
          rowAttrs={(r) => ({ "data-calibration": r.calibration_id })}
          columns={[
            { header: "Version", rowHeader: true, cell: (r) => r.index_version },
            { header: "Role", field: "role", cell: (r) => ROLE_WORDS[r.role] },
            { header: "Coverage", cell: (r) => `${r.coverage}, target ${pct(r.target)}` },
            { header: "Judged queries", num: true, field: "queries", cell: (r) => r.queries },
            { header: "Observed", num: true, field: "observed", cell: (r) => pct(r.observed) },
            {
              header: "95 % confidence sequence",
              num: true,
              field: "cs",
              cell: (r) => `${pct(r.confidence_sequence_95[0])} – ${pct(r.confidence_sequence_95[1])}`,
            },
            { header: "Expected (tolerated)", num: true, cell: (r) => `${pct(r.expected)} (${pct(r.tolerated)})` },
            {
              header: "Detector",
              field: "state",
              cell: (r) => {
                const a = alarmedOf(r);
                return a === null
                  ? coverageState(r)
                  : `${coverageState(r)} (alarmed at ${when(a.at)} on ${pct(a.observed)} over ${count(a.queries)} queries)`;
              },
            },
            { header: "Since", cell: (r) => sinceWords(r) },
          ]}
        />
      )}
    </>
  );
}
