import type { StoredPolicy } from "../../contract";
import type { Principal } from "../../platform/auth";
import { num, pct } from "../charts/scale";
import type { GateRowView, WindowPoint } from "../data";
import { Layout } from "./layout";
import { Table } from "./table";

const policyText = (p: StoredPolicy | null): string => {
  if (p === null) return "–";
  switch (p.kind) {
    case "drop_rate":
      return `drop ${pct(p.target, 0)}`;
    case "carry":
      return `carry ${p.threshold === null ? "the reference's threshold" : num(p.threshold)}`;
    default:
      return p.kind;
  }
};

/**
 * The served calibration's latest window with observations: the open one, or (right after an alarm restarted it, or
 * after a rollover) the newest finished one; otherwise any open window.
 */
function shownWindow(r: GateRowView): WindowPoint | undefined {
  const open = r.monitor.points.filter((p) => p.open).sort((a, b) => b.queries - a.queries);
  const served = r.monitor.points
    .filter((p) => p.calibration_id === r.current?.calibration_id && p.queries > 0)
    .sort((a, b) => Number(b.open) - Number(a.open) || b.started_at.localeCompare(a.started_at));
  return served[0] ?? open[0];
}

export function OverviewPage(props: { rows: GateRowView[]; indexes: string[]; index: string | undefined; principal: Principal; csrf: string }) {
  const rows = props.rows.map((r) => ({ ...r, w: shownWindow(r) }));
  return (
    <Layout title="Gates" principal={props.principal} csrf={props.csrf} current="overview">
      <h1>Gates</h1>
      <form method="get" action="/ui" class="filters" aria-label="Filter gates">
        <div>
          <label for="index-filter">Index</label>
          <select id="index-filter" name="index">
            <option value="">all indexes</option>
            {props.indexes.map((i) => (
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
      {rows.length === 0 ? (
        <p>No gate has been calibrated yet: upload scores with POST /v1/calibrations (README walk-through).</p>
      ) : (
        <Table
          name="gates"
          caption="Gates with open alerts first, most urgent first."
          captionClass="muted"
          rows={rows}
          rowAttrs={(r) => ({ "data-gate": r.gate.gate_id })}
          columns={[
            {
              header: "Gate (index / embedding / reranker)",
              rowHeader: true,
              cell: (r) => (
                <a href={`/ui/gates/${r.gate.gate_id}`}>
                  {r.gate.index} / {r.gate.embedding} / {r.gate.reranker}
                </a>
              ),
            },
            { header: "Threshold", num: true, field: "threshold", cell: (r) => (r.current ? num(r.current.threshold) : "uncalibrated") },
            { header: "Policy", cell: (r) => policyText(r.policy) },
            { header: "Index version", cell: (r) => r.current?.index_version ?? "–" },
            { header: "Expected drop", num: true, field: "expected", cell: (r) => pct(r.current?.expected_drop_rate) },
            {
              header: "Observed drop",
              num: true,
              field: "observed",
              cell: (r) => (r.w === undefined ? "–" : `${pct(r.w.observed)} (${r.w.queries} queries)`),
            },
            { header: "Empty context", num: true, cell: (r) => pct(r.w?.empty_rate) },
            { header: "Detector", cell: (r) => <span class={`badge ${r.monitor.state}`}>{r.monitor.state}</span> },
            {
              header: "Open alerts",
              field: "alerts",
              cell: (r) =>
                r.alerts.length === 0
                  ? "none"
                  : r.alerts.map((a) => (
                      <div>
                        <a href={`/ui/alerts/${a.id}`}>
                          <span class={`badge ${a.status}`}>{a.status}</span> {a.kind}
                        </a>
                      </div>
                    )),
            },
          ]}
        />
      )}
    </Layout>
  );
}
