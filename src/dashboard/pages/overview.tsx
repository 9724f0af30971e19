import type { StoredPolicy } from "../../contract";
import type { Principal } from "../../platform/auth";
import { count, counted, num, pct, percent } from "../charts/scale";
import { stateWords, type WindowPoint } from "../data/monitor-view";
import type { GateRowView, OverviewView, RowSplit } from "../data/overview";
import { Layout, when } from "./layout";
import { AttentionSummary, UncalibratedTable } from "./overview-attention";
import { promotionHref } from "./promotion";
import { type Column, Table } from "./table";

/**
 * The policy's guards and abstention, as the row names them (a guarded gate's expected and observed rates differ from
 * a bare threshold's: the reader needs to know it is one): ", min_keep 2, max_keep 5, abstains"; "" without.
 */
const guardText = (p: StoredPolicy): string =>
  [
    ...((p.min_keep ?? 0) >= 1 ? [`min_keep ${p.min_keep}`] : []),
    ...(p.max_keep != null ? [`max_keep ${p.max_keep}`] : []),
    ...(p.abstention !== undefined ? ["abstains"] : []),
  ]
    .map((g) => `, ${g}`)
    .join("");

const policyText = (p: StoredPolicy | null): string => {
  if (p === null) return "–";
  switch (p.kind) {
    case "drop_rate":
      // the target as it was set (0.225: "22.5 %"), never rounded to a figure nobody asked for
      return `drop ${percent(num(p.target * 100, 2))}${guardText(p)}`;
    case "carry":
      return `carry ${p.threshold === null ? "the reference's threshold" : num(p.threshold)}${guardText(p)}`;
    default:
      return `${p.kind}${guardText(p)}`;
  }
};

/**
 * The served calibration's open window (it holds the day's counts, alarms included); otherwise another open window of
 * served traffic. Never a shadow's or a promotion candidate's: the row shows what the gate serves.
 */
function shownWindow(r: GateRowView): WindowPoint | undefined {
  const open = (r.monitor?.points ?? [])
    .filter((p) => p.open && (p.role === "active" || p.role === "previous"))
    .sort((a, b) => b.queries - a.queries);
  return open.find((p) => p.role === "active") ?? open[0];
}

/** "12-05 23:13 UTC": a window runs for a day, so its start may be yesterday's; the year is in the title. */
const clockTime = (iso: string): string => `${iso.slice(5, 10)} ${iso.slice(11, 16)} UTC`;

/** A time in the short form (clockTime), the full time as its title: the form every time in the table takes. */
const shortTime = (iso: string) => (
  <time datetime={iso} title={when(iso)}>
    {clockTime(iso)}
  </time>
);

/**
 * An alert kind that may break after each "_" ("promotion_<wbr>rolled_<wbr>back"): one long word would keep the
 * alerts column, and so the whole table, wider than the page at 1280 px.
 */
const breakableKind = (kind: string) =>
  kind.split("_").map((part, i, parts) => (
    <>
      {part}
      {i < parts.length - 1 && (
        <>
          _<wbr />
        </>
      )}
    </>
  ));

/**
 * The gate's open promotion and shadows: a paused promotion drawn as an alarm is (it waits for a person to
 * resume or roll it back), linking the promotion on the gate page; the shadows' number links the gate page's shadows.
 */
function SplitCell(props: { gateId: string; split: RowSplit | null }) {
  const { gateId, split } = props;
  if (split === null) return <a href={`/ui/gates/${gateId}#promotions`}>on the gate page</a>;
  const r = split.rollout;
  const shadows =
    split.shadows === 0 ? null : (
      <div data-field="shadows">
        <a href={`/ui/gates/${gateId}#shadows`}>{counted(split.shadows, "shadow")}</a>
      </div>
    );
  const promotion =
    r !== null ? (
      <div data-field="promotion" data-state={r.state}>
        <a href={promotionHref(gateId, r.promotion_id)}>
          <span class={`badge ${r.state}`}>{r.state === "paused" ? "promotion paused" : "promoting"}</span> step {r.step + 1}
          {split.steps === null ? "" : ` of ${split.steps}`}, {percent(num(r.percent_bp / 100, 2))} of keyed traffic
        </a>
        {r.state === "paused" && <div class="muted">waits for a person: resume or roll back</div>}
      </div>
    ) : split.promotionOpen ? (
      <div data-field="promotion" data-state="starting">
        <a href={`/ui/gates/${gateId}#promotions`}>promotion starting</a>
      </div>
    ) : null;
  if (promotion === null && shadows === null) return "none";
  return (
    <>
      {promotion}
      {shadows}
    </>
  );
}

/**
 * What on-call reads first comes first, right after the gate's name: its open alerts, its detector, its promotion; the
 * numbers follow. At 1280 px the whole table fits the page (the long headers wrap), so nothing that needs a person is
 * behind the sideways scroll (the browser test checks it).
 */
const COLUMNS: Column<GateRowView & { w: WindowPoint | undefined }>[] = [
  {
    header: "Gate (index / embedding / reranker)",
    rowHeader: true,
    cell: (r) => (
      <a href={`/ui/gates/${r.gate.gate_id}`}>
        {r.gate.index} / {r.gate.embedding} / {r.gate.reranker}
      </a>
    ),
  },
  {
    header: "Open alerts",
    field: "alerts",
    cell: (r) =>
      r.alerts.length === 0
        ? "none"
        : r.alerts.map((a) => (
            <div>
              {/* the badge beside the link, not in it: a link's underline would start under the space between them */}
              <span class={`badge ${a.status}`}>{a.status}</span>{" "}
              <a href={a.id === undefined ? `/ui/alerts?gate_id=${r.gate.gate_id}` : `/ui/alerts/${a.id}`}>{breakableKind(a.kind)}</a>
            </div>
          )),
  },
  {
    header: "Detector",
    field: "detector",
    cell: (r) => (
      <>
        <span class={`badge ${r.state?.state ?? "unknown"}`}>{stateWords(r.state)}</span>
        {r.state?.since && <div class="muted">since {shortTime(r.state.since)}</div>}
      </>
    ),
  },
  { header: "Promotion / shadows", field: "split", cell: (r) => <SplitCell gateId={r.gate.gate_id} split={r.split} /> },
  { header: "Threshold", num: true, field: "threshold", cell: (r) => (r.current ? num(r.current.threshold) : "uncalibrated") },
  { header: "Policy", field: "policy", cell: (r) => policyText(r.policy) },
  { header: "Index version", cell: (r) => r.current?.index_version ?? "–" },
  {
    header: "Expected drop",
    num: true,
    field: "expected",
    // A guarded calibration's detector expects the calibration's per-size rates weighed by production's query sizes:
    // the figure the observed drop is tested against (GET /v1/monitor's drop_rate.expected) goes under its own.
    cell: (r) =>
      r.w?.strata != null && r.w.calibration_id === r.current?.calibration_id ? (
        <>
          <div>{pct(r.current.expected_drop_rate)}</div>
          <div class="muted" data-field="detector-expected">
            detector now: {pct(r.w.expected)} for the query sizes since its last reset
          </div>
        </>
      ) : (
        pct(r.current?.expected_drop_rate)
      ),
  },
  {
    // The monitor's window is 24 h from its first batch, not a calendar day: named by when it opened.
    header: "Observed drop (open 24 h window)",
    num: true,
    field: "observed",
    cell: (r) =>
      r.w === undefined ? (
        "–"
      ) : (
        <>
          <div>
            {pct(r.w.observed)} ({count(r.w.queries)} queries)
          </div>
          <div class="muted">since {shortTime(r.w.started_at)}</div>
          {/* the served calibration has no open window yet (a rollback or an activation today): the one shown is the
              calibration's it replaced, which must not read as the served one's */}
          {r.current !== null && r.w.calibration_id !== r.current.calibration_id && (
            <div class="muted" data-field="window-of">
              of {r.w.index_version}, served before the last activation
            </div>
          )}
        </>
      ),
  },
  {
    // A min_keep gate is never left empty: its column is where the guard bound, as on the gate page's windows table.
    header: "Empty context / guard bound",
    num: true,
    field: "empty",
    cell: (r) =>
      r.w === undefined ? "–" : r.w.empty_level === null ? pct(r.w.empty_rate) : `guard bound ${pct(r.w.empty_rate)} (min_keep ${r.w.empty_level})`,
  },
];

function GateTable(props: { name: string; caption: string; rows: GateRowView[] }) {
  return (
    <Table
      name={props.name}
      caption={props.caption}
      captionClass="muted"
      rows={props.rows.map((r) => ({ ...r, w: shownWindow(r) }))}
      rowAttrs={(r) => ({ "data-gate": r.gate.gate_id })}
      columns={COLUMNS}
    />
  );
}

export function OverviewPage(props: { view: OverviewView; index: string | undefined; principal: Principal; csrf: string }) {
  const v = props.view;
  const pageLink = (p: number) => `/ui?${new URLSearchParams({ ...(props.index ? { index: props.index } : {}), page: String(p) })}`;
  return (
    <Layout title="Gates" principal={props.principal} csrf={props.csrf} current="overview">
      <h1>Gates</h1>
      <form method="get" action="/ui" class="filters" aria-label="Filter gates">
        <div>
          <label for="index-filter">Index</label>
          <select id="index-filter" name="index">
            <option value="">all indexes</option>
            {v.indexes.map((i) => (
              <option value={i} selected={i === props.index}>
                {i}
              </option>
            ))}
          </select>
        </div>
        <div>
          <button type="submit">Filter</button>
        </div>
      </form>
      <AttentionSummary view={v} />
      {v.total === 0 ? (
        <p>No gate has been calibrated yet: upload scores with POST /v1/calibrations (README walk-through).</p>
      ) : (
        <>
          <h2 id="in-alarm">In alarm ({v.alarms.length})</h2>
          {v.alarms.length === 0 ? (
            <p data-field="no-alarm">No gate is in alarm.</p>
          ) : (
            <GateTable name="alarms" caption="Every gate in alarm, newest alarm first, on every page." rows={v.alarms} />
          )}
          {v.attention.length > 0 && (
            <>
              <h2 id="with-alerts">With unresolved alerts ({v.attention.length})</h2>
              <GateTable
                name="attention"
                caption="Every gate not in alarm with an open or acknowledged alert (a promotion paused or rolled back, a rebuild shift, …), newest alert first, on every page."
                rows={v.attention}
              />
            </>
          )}
        </>
      )}
      {v.uncalibrated.length > 0 && <UncalibratedTable asks={v.uncalibrated} />}
      {v.total > 0 && (
        <>
          <h2 id="gates">Other gates ({v.total - v.alarms.length - v.attention.length})</h2>
          {v.rows.length === 0 ? (
            <p>None.</p>
          ) : (
            <GateTable name="gates" caption={`Gates without unresolved alerts, by name. Page ${v.page} of ${v.pages}.`} rows={v.rows} />
          )}
          {v.pages > 1 && (
            <nav aria-label="Pages of gates" class="ranges" data-field="pages">
              {v.page > 1 && <a href={pageLink(v.page - 1)}>Previous page</a>} Page {v.page} of {v.pages}{" "}
              {v.page < v.pages && <a href={pageLink(v.page + 1)}>Next page</a>}
            </nav>
          )}
        </>
      )}
    </Layout>
  );
}
