import type { Calibration } from "../../contract";
import type { Principal } from "../../platform/auth";
import { grants } from "../../platform/auth";
import { DropRateChart, EcdfChart, HistogramChart, type Marker, type Series } from "../charts/charts";
import { dropRateAt, num, pct } from "../charts/scale";
import type { GateView } from "../data";
import { GateHistory } from "./gate-history";
import { gateName, Layout, when } from "./layout";

export interface GateQuery {
  readonly view: "ecdf" | "histogram";
  /** The "what would threshold x drop?" input: the raw text and its parsed value (null when not a number). */
  readonly xRaw: string | undefined;
  readonly x: number | null;
  readonly flash: string | null;
}

const labelOf = (c: Calibration, role: string, other: Calibration | null): string =>
  `${c.index_version}${other !== null && other.index_version === c.index_version ? ` (${c.id.slice(-6)})` : ""} ${role}`;

/** The shift report's optional fields (newer servers add a decision and an interval): shown when present. */
function decisionOf(shift: Record<string, unknown>): { decision: string | null; interval: [number, number] | null } {
  const d = typeof shift.decision === "string" ? shift.decision : null;
  const i = shift.change_interval_95;
  const interval =
    Array.isArray(i) && i.length === 2 && typeof i[0] === "number" && typeof i[1] === "number" ? ([i[0], i[1]] as [number, number]) : null;
  return { decision: d, interval };
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
  const shift = (cur?.shift ?? null) as (Record<string, unknown> & NonNullable<Calibration["shift"]>) | null;
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
          <div class="table-wrap">
            <table data-table="implied">
              <caption>Drop rate each threshold implies on each distribution</caption>
              <thead>
                <tr>
                  <th scope="col">Threshold</th>
                  {series.map((s) => (
                    <th scope="col" class="num">
                      on {s.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {markers.map((m) => (
                  <tr>
                    <th scope="row">{m.label}</th>
                    {series.map((s) => (
                      <td class="num" data-cell={`${m.value}@${s.tone}`}>
                        {pct(dropRateAt(s.dist, m.value))}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <details>
            <summary>Plotted numbers (score quantiles)</summary>
            <div class="table-wrap">
              <table>
                <caption>Score at each share of candidates below it</caption>
                <thead>
                  <tr>
                    <th scope="col" class="num">
                      Share below
                    </th>
                    {series.map((s) => (
                      <th scope="col" class="num">
                        {s.label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {[0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95].map((p) => (
                    <tr>
                      <td class="num">{pct(p, 0)}</td>
                      {series.map((s) => {
                        const c = s.tone === "cur" ? cur : prev;
                        const qs = c?.summary.quantiles ?? [];
                        const i = Math.round(p / (c?.summary.step ?? 0.01));
                        return <td class="num">{num(qs[i])}</td>;
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
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
          <div class="table-wrap">
            <table data-table="windows">
              <caption>Monitor windows</caption>
              <thead>
                <tr>
                  <th scope="col">Window start</th>
                  <th scope="col">Version</th>
                  <th scope="col" class="num">
                    Queries
                  </th>
                  <th scope="col" class="num">
                    Observed
                  </th>
                  <th scope="col" class="num">
                    Expected
                  </th>
                  <th scope="col" class="num">
                    Band
                  </th>
                  <th scope="col" class="num">
                    Empty context
                  </th>
                  <th scope="col" class="num">
                    Candidates / query
                  </th>
                  <th scope="col">Alarm</th>
                </tr>
              </thead>
              <tbody>
                {v.monitor.points.map((p) => (
                  <tr>
                    <td>
                      {when(p.started_at)}
                      {p.open ? " (open)" : ""}
                    </td>
                    <td>{p.index_version}</td>
                    <td class="num">{p.queries}</td>
                    <td class="num">{pct(p.observed)}</td>
                    <td class="num">{pct(p.expected)}</td>
                    <td class="num">{p.band ? `${pct(p.band[0])} – ${pct(p.band[1])}` : "–"}</td>
                    <td class="num">{pct(p.empty_rate)}</td>
                    <td class="num" data-field="candidates">
                      {p.mean_candidates === null ? "–" : p.mean_candidates.toFixed(1)}
                      {p.candidates_change === "fewer" || p.candidates_change === "more" ? ` (${p.candidates_change} than calibration)` : ""}
                    </td>
                    <td>{p.alarm ? "yes" : "no"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
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
