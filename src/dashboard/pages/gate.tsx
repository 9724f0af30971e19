import type { Calibration, ShiftReport } from "../../contract";
import type { Principal } from "../../platform/auth";
import { grants } from "../../platform/auth";
import { DropRateChart, EcdfChart, HistogramChart, type Marker, type Series } from "../charts/charts";
import { dropRateAt, num, pct } from "../charts/scale";
import type { GateView } from "../data";
import { GateHistory } from "./gate-history";
import { gateName, Layout, when } from "./layout";
import { type Column, Table } from "./table";

export interface GateQuery {
  readonly view: "ecdf" | "histogram";
  /** The "what would threshold x drop?" input: the raw text and its parsed value (null when not a number). */
  readonly xRaw: string | undefined;
  readonly x: number | null;
  readonly flash: string | null;
}

const labelOf = (c: Calibration, role: string, other: Calibration | null): string =>
  `${c.index_version}${other !== null && other.index_version === c.index_version ? ` (${c.id.slice(-6)})` : ""} ${role}`;

/**
 * The decision and interval of a shift report: every report has them now, but calibrations stored before they
 * existed keep reports without them (D1 keeps records as they were written), shown without.
 */
function decisionOf(shift: ShiftReport): { decision: ShiftReport["decision"] | null; interval: ShiftReport["change_interval_95"] | null } {
  const stored = shift as Partial<Pick<ShiftReport, "decision" | "change_interval_95">>;
  return { decision: stored.decision ?? null, interval: stored.change_interval_95 ?? null };
}

export function GatePage(props: { view: GateView; q: GateQuery; principal: Principal; csrf: string; path: string }) {
  const { view: v, q } = props;
  const admin = grants(props.principal.scope, "admin");
  const cur = v.current;
  const prev = v.previous;
  const series: Series[] = [];
  if (prev && v.previousDist) series.push({ label: labelOf(prev, "previous", cur), dist: v.previousDist, tone: "prev" });
  if (cur && v.currentDist) series.push({ label: labelOf(cur, "current", prev), dist: v.currentDist, tone: "cur" });
  const markers: Marker[] = [];
  if (prev?.threshold !== null && prev?.threshold !== undefined) markers.push({ label: `old ${num(prev.threshold)}`, value: prev.threshold });
  if (cur?.threshold !== null && cur?.threshold !== undefined && cur.threshold !== prev?.threshold) {
    markers.push({ label: `${cur.policy.kind === "carry" ? "carried" : "current"} ${num(cur.threshold)}`, value: cur.threshold });
  }
  const oldT = prev?.threshold ?? null;
  const headline =
    prev && cur && v.previousDist && v.currentDist && oldT !== null
      ? `${num(oldT)} drops ${pct(dropRateAt(v.previousDist, oldT), 0)} of ${prev.index_version} and ${pct(dropRateAt(v.currentDist, oldT), 0)} of ${cur.index_version}`
      : null;
  const shift = cur?.shift ?? null;
  const extra = shift ? decisionOf(shift) : { decision: null, interval: null };
  const gateLabel = gateName(v.gate);
  const alertIndexes = new Set<number>();
  v.monitor.points.forEach((p, i) => {
    if (
      v.alerts.some(
        (a) => a.kind !== "rebuild_shift" && a.kind !== "uncalibrated_request" && a.first_seen_at <= p.ends_at && a.last_seen_at >= p.started_at,
      )
    )
      alertIndexes.add(i);
  });
  const chartTitle = `Score distributions of ${series.map((s) => s.label).join(" and ")}`;
  const chartDesc = headline ? `${headline}.` : "The share of candidates below each score.";
  return (
    <Layout title={gateLabel} principal={props.principal} csrf={props.csrf} current="overview">
      <p>
        <a href="/ui">All gates</a>
      </p>
      <h1>{gateLabel}</h1>
      {q.flash && (
        <p class="notice" role="status">
          {q.flash}
        </p>
      )}
      <div class="grid">
        <div class="panel">
          <div class="muted">Current threshold</div>
          <div class="big" data-field="current-threshold">
            {cur ? num(cur.threshold) : "uncalibrated"}
          </div>
          <div>
            {cur
              ? `index version ${cur.index_version}, ${cur.policy.kind} policy, expected drop ${pct(cur.expected_drop_rate)}`
              : "no active calibration"}
          </div>
        </div>
        {headline && (
          <div class="panel" data-field="headline">
            <div class="muted">What the old threshold means now</div>
            <div class="big">{headline}</div>
          </div>
        )}
        <div class="panel">
          <div class="muted">Drift detector</div>
          <div class="big">
            <span class={`badge ${v.monitor.state}`}>{v.monitor.state}</span>
          </div>
          {v.monitor.error && <div class="error">monitor unavailable: {v.monitor.error}</div>}
        </div>
      </div>

      <h2 id="distributions">Score distributions</h2>
      {series.length === 0 ? (
        <p>No stored distribution for this gate.</p>
      ) : (
        <section aria-labelledby="distributions">
          <p>
            Show as: {q.view === "ecdf" ? <strong aria-current="true">ECDF</strong> : <a href={`${props.path}?view=ecdf#distributions`}>ECDF</a>} ·{" "}
            {q.view === "histogram" ? (
              <strong aria-current="true">histogram</strong>
            ) : (
              <a href={`${props.path}?view=histogram#distributions`}>histogram</a>
            )}
          </p>
          <figure>
            {q.view === "ecdf" ? (
              <EcdfChart series={series} markers={markers} title={chartTitle} desc={chartDesc} />
            ) : (
              <HistogramChart series={series} markers={markers} bins={24} title={chartTitle} desc={chartDesc} />
            )}
            <figcaption>
              <ul class="legend">
                {series.map((s) => (
                  <li>
                    <span class={`sw ${s.tone}`} aria-hidden="true" />
                    {s.label} ({s.dist.n} scores)
                  </li>
                ))}
                <li>
                  <span class="sw thr" aria-hidden="true" />
                  thresholds; dots: the drop rate each implies on each distribution
                </li>
              </ul>
            </figcaption>
          </figure>
          <Table
            name="implied"
            caption="Drop rate each threshold implies on each distribution"
            rows={markers}
            columns={[
              { header: "Threshold", rowHeader: true, cell: (m) => m.label },
              ...series.map(
                (s): Column<Marker> => ({
                  header: `on ${s.label}`,
                  num: true,
                  attrs: (m) => ({ "data-cell": `${m.value}@${s.tone}` }),
                  cell: (m) => pct(dropRateAt(s.dist, m.value)),
                }),
              ),
            ]}
          />
          <details>
            <summary>Plotted numbers (score quantiles)</summary>
            <Table
              caption="Score at each share of candidates below it"
              rows={[0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]}
              columns={[
                { header: "Share below", num: true, cell: (p) => pct(p, 0) },
                ...series.map((s): Column<number> => {
                  const c = s.tone === "cur" ? cur : prev;
                  const qs = c?.summary.quantiles ?? [];
                  return { header: s.label, num: true, cell: (p) => num(qs[Math.round(p / (c?.summary.step ?? 0.01))]) };
                }),
              ]}
            />
          </details>

          <h2 id="what-if">What would threshold x drop?</h2>
          <form method="get" action={`${props.path}#what-if`} class="filters">
            <input type="hidden" name="view" value={q.view} />
            <div>
              <label for="what-if-x">Threshold x</label>
              <input id="what-if-x" name="x" type="number" step="any" inputmode="decimal" value={q.xRaw ?? ""} required />
            </div>
            <div>
              <button type="submit">Compute</button>
            </div>
          </form>
          <div aria-live="polite" data-field="what-if">
            {q.xRaw !== undefined &&
              (q.x === null ? (
                <p class="error">Enter a number.</p>
              ) : (
                <ul>
                  {series
                    .slice()
                    .reverse()
                    .map((s) => (
                      <li>
                        <strong>{pct(dropRateAt(s.dist, q.x!))}</strong> of {s.label} lies below {num(q.x, 6)}
                      </li>
                    ))}
                </ul>
              ))}
          </div>
        </section>
      )}

      <h2 id="rebuild">Last rebuild decision</h2>
      {shift === null ? (
        <p>The current calibration was not compared with an earlier one.</p>
      ) : (
        <div class="panel" data-field="shift">
          <p>
            {extra.decision !== null && (
              <>
                <span class={`badge ${extra.decision}`} data-field="decision">
                  {extra.decision}
                </span>{" "}
              </>
            )}
            {shift.alert ? <span class="badge alarm">alert</span> : <span class="badge watching">within tolerance</span>} {shift.reason}
          </p>
          <dl class="kv">
            <dt>Compared with</dt>
            <dd>
              {shift.compared_with === "carry_reference" ? "the carry reference" : "the gate's previous current calibration"} (
              {shift.previous_index_version}, <code>{shift.previous_calibration_id}</code>)
            </dd>
            <dt>Previous threshold</dt>
            <dd>{num(shift.previous_threshold)}</dd>
            <dt>Its drop rate before → now</dt>
            <dd>
              {pct(shift.previous_drop_rate_at_previous_threshold)} → {pct(shift.drop_rate_at_previous_threshold)} (
              {shift.change_points >= 0 ? "+" : ""}
              {num(shift.change_points, 1)} points)
            </dd>
            {extra.interval && (
              <>
                <dt>Change, 95 % interval</dt>
                <dd data-field="change-interval">
                  {num(extra.interval[0] * 100, 1)} to {num(extra.interval[1] * 100, 1)} points
                </dd>
              </>
            )}
            <dt>z, p</dt>
            <dd>
              {num(shift.z, 2)}, {shift.p_value < 0.001 ? "< 0.001" : num(shift.p_value, 4)}
            </dd>
            <dt>KS, PSI</dt>
            <dd>
              {num(shift.ks)}, {num(shift.psi.value)} {shift.psi.exceeds ? `(above ${shift.psi.threshold})` : ""}
            </dd>
            <dt>Tolerance</dt>
            <dd>{num(shift.tolerance * 100, 1)} points</dd>
          </dl>
        </div>
      )}

      <h2 id="production">Production drop rate</h2>
      {v.monitor.points.length === 0 ? (
        <p>No observations yet: services report counts with POST /v1/observations.</p>
      ) : (
        <section aria-labelledby="production">
          <figure>
            <DropRateChart
              points={v.monitor.points.map((p) => ({
                label: `${p.index_version} ${p.started_at.slice(5, 10)}`,
                observed: p.observed,
                expected: p.expected,
                band: p.band,
                alarm: p.alarm,
              }))}
              alertWindows={alertIndexes}
              title="Observed drop rate per monitor window against the expected band"
              desc={v.monitor.points.map((p) => `${p.started_at.slice(0, 10)}: ${pct(p.observed)} observed, expected ${pct(p.expected)}`).join("; ")}
            />
            <figcaption class="muted">Dots: observed; dashes: expected; shaded: the tolerance band; red triangle: alarm or alert.</figcaption>
          </figure>
          <Table
            name="windows"
            caption="Monitor windows"
            rows={v.monitor.points}
            columns={[
              {
                header: "Window start",
                cell: (p) => (
                  <>
                    {when(p.started_at)}
                    {p.open ? " (open)" : ""}
                  </>
                ),
              },
              { header: "Version", cell: (p) => p.index_version },
              { header: "Queries", num: true, cell: (p) => p.queries },
              { header: "Observed", num: true, cell: (p) => pct(p.observed) },
              { header: "Expected", num: true, cell: (p) => pct(p.expected) },
              { header: "Band", num: true, cell: (p) => `${pct(p.band[0])} – ${pct(p.band[1])}` },
              { header: "Empty context", num: true, cell: (p) => pct(p.empty_rate) },
              {
                header: "Candidates / query",
                num: true,
                field: "candidates",
                cell: (p) => (
                  <>
                    {p.mean_candidates === null ? "–" : p.mean_candidates.toFixed(1)}
                    {p.candidates_change === "fewer" || p.candidates_change === "more" ? ` (${p.candidates_change} than calibration)` : ""}
                  </>
                ),
              },
              { header: "Alarm", cell: (p) => (p.alarm ? "yes" : "no") },
            ]}
          />
        </section>
      )}

      <h2 id="alerts">Alerts</h2>
      {v.alerts.length === 0 ? (
        <p>No alerts for this gate.</p>
      ) : (
        <ul>
          {v.alerts.map((a) => (
            <li>
              <a href={`/ui/alerts/${a.id}`}>
                <span class={`badge ${a.status}`}>{a.status}</span> {a.kind}
              </a>{" "}
              {a.summary}
            </li>
          ))}
        </ul>
      )}

      <GateHistory view={v} admin={admin} csrf={props.csrf} />
    </Layout>
  );
}
