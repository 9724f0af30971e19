import type { Principal } from "../../platform/auth";
import { num, pct } from "../charts/scale";
import type { GateRowView } from "../data";
import { Layout } from "./layout";

const policyText = (p: GateRowView["policy"]): string => {
  if (p === null) return "–";
  const o = p as Record<string, unknown>;
  if (o.kind === "drop_rate") return `drop ${pct(o.target as number, 0)}`;
  if (o.kind === "carry")
    return `carry ${o.threshold === null || o.threshold === undefined ? "the reference's threshold" : num(o.threshold as number)}`;
  return String(o.kind);
};

export function OverviewPage(props: { rows: GateRowView[]; indexes: string[]; index: string | undefined; principal: Principal; csrf: string }) {
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
      {props.rows.length === 0 ? (
        <p>No gate has been calibrated yet: upload scores with POST /v1/calibrations (README walk-through).</p>
      ) : (
        <div class="table-wrap">
          <table data-table="gates">
            <caption class="muted">Gates with open alerts first, most urgent first.</caption>
            <thead>
              <tr>
                <th scope="col">Gate (index / embedding / reranker)</th>
                <th scope="col" class="num">
                  Threshold
                </th>
                <th scope="col">Policy</th>
                <th scope="col">Index version</th>
                <th scope="col" class="num">
                  Expected drop
                </th>
                <th scope="col" class="num">
                  Observed drop
                </th>
                <th scope="col" class="num">
                  Empty context
                </th>
                <th scope="col">Detector</th>
                <th scope="col">Open alerts</th>
              </tr>
            </thead>
            <tbody>
              {props.rows.map((r) => {
                // The served calibration's latest window with observations: the open one, or (right after an alarm
                // restarted it, or after a rollover) the newest finished one; otherwise any open window.
                const open = r.monitor.points.filter((p) => p.open).sort((a, b) => b.queries - a.queries);
                const served = r.monitor.points
                  .filter((p) => p.calibration_id === r.current?.calibration_id && p.queries > 0)
                  .sort((a, b) => Number(b.open) - Number(a.open) || b.started_at.localeCompare(a.started_at));
                const w = served[0] ?? open[0];
                return (
                  <tr data-gate={r.gate.gate_id}>
                    <th scope="row">
                      <a href={`/ui/gates/${r.gate.gate_id}`}>
                        {r.gate.index} / {r.gate.embedding} / {r.gate.reranker}
                      </a>
                    </th>
                    <td class="num" data-field="threshold">
                      {r.current ? num(r.current.threshold) : "uncalibrated"}
                    </td>
                    <td>{policyText(r.policy)}</td>
                    <td>{r.current?.index_version ?? "–"}</td>
                    <td class="num" data-field="expected">
                      {pct(r.current?.expected_drop_rate)}
                    </td>
                    <td class="num" data-field="observed">
                      {w === undefined ? "–" : `${pct(w.observed)} (${w.queries} queries)`}
                    </td>
                    <td class="num">{pct(w?.empty_rate)}</td>
                    <td>
                      <span class={`badge ${r.monitor.state}`}>{r.monitor.state}</span>
                    </td>
                    <td data-field="alerts">
                      {r.alerts.length === 0
                        ? "none"
                        : r.alerts.map((a) => (
                            <div>
                              <a href={`/ui/alerts/${a.id}`}>
                                <span class={`badge ${a.status}`}>{a.status}</span> {a.kind}
                              </a>
                            </div>
                          ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}
