import type { Calibration } from "../../contract";
import type { Principal } from "../../platform/auth";
import { grants } from "../../platform/auth";
import { EcdfChart, HistogramChart, type Marker, type Series } from "../charts/charts";
import { count, dropRateAt, num, pct, sameShares } from "../charts/scale";
import type { GateView, SeriesRange } from "../data/gate";
import { stateWords } from "../data/monitor-view";
import { AlertSummary, alertsHref } from "./alerts";
import { NOW_WORDS, nowRole, versionName, versionWith } from "./calibration-roles";
import { CoverageSection, recallPolicyLine } from "./gate-coverage";
import { GateHistory } from "./gate-history";
import { ProductionSection } from "./gate-production";
import { RebuildDecision } from "./gate-rebuild";
import { ShadowSection } from "./gate-shadows";
import { gateName, Layout, when } from "./layout";
import { AskedPromotionNotice, PromotionTimeline } from "./promotion";
import { type Column, Table } from "./table";

export interface GateQuery {
  readonly view: "ecdf" | "histogram";
  /** The "what would threshold x drop?" input: the raw text and its parsed value (null when not a number). */
  readonly xRaw: string | undefined;
  readonly x: number | null;
  /** The range the request named (the page shows GateView.range: the one it chose when none was named). */
  readonly range: SeriesRange;
  readonly flash: string | null;
}

/** A calibration's index version, with its id's end when the other calibration shown has the same version. */
const versionOf = (c: Calibration, other: Calibration): string => versionName(c, [other]);

/**
 * A calibration's name on this page: its version (versionOf) and what it is now (calibration-roles.ts: "served",
 * "promotion candidate, rolled back", ...), nothing more for one that is simply not served.
 */
function labelOf(v: GateView, c: Calibration, other: Calibration): string {
  const role = nowRole(v, c.id);
  return role === "not_served" ? versionOf(c, other) : versionWith(c, [other], NOW_WORDS[role]);
}

/**
 * The headline of two calibrations of one index version (no rebuild between them: the same index re-calibrated, or
 * another threshold carried onto it): what each one's own threshold drops of its own scores, the served one first.
 */
function sameVersionHeadline(v: GateView, cmp: NonNullable<GateView["comparison"]>): string | null {
  const sides = [
    { c: cmp.older, other: cmp.newer, dist: v.olderDist },
    { c: cmp.newer, other: cmp.older, dist: v.newerDist },
  ].sort((a, b) => Number(b.c.current) - Number(a.c.current));
  const parts = sides.map(({ c, other, dist }) =>
    c.threshold === null || dist === null
      ? null
      : `${labelOf(v, c, other)} ${c.current ? "drops" : "would drop"} ${pct(dropRateAt(dist, c.threshold), 0)} at ${num(c.threshold)}`,
  );
  return parts.every((p) => p !== null) ? parts.join("; ") : null;
}

/** The served guards and abstain_below, with what they do on the calibration's own queries (nothing without them). */
function GuardLines(props: { calibration: Calibration }) {
  const c = props.calibration;
  const g = c.guards ?? null;
  const a = c.abstain_below ?? null;
  return (
    <>
      {g && (
        <div data-field="guards">
          guards: min_keep {g.min_keep}, max_keep {g.max_keep ?? "none"} (in calibration min_keep binds on {pct(g.min_keep_binding_rate)} of queries,
          max_keep on {pct(g.max_keep_binding_rate)}; the threshold alone would drop {pct(g.bare_drop_rate)})
        </div>
      )}
      {a !== null && (
        <div data-field="abstain-below">
          abstain_below {num(a)}: a query whose top score is below it keeps nothing
          {c.abstention ? ` (expected abstention ${pct(c.abstention.expected_rate)} of queries)` : ""}
        </div>
      )}
    </>
  );
}

/**
 * The drift alerts holding the gate in alarm that were raised against a calibration the gate does not serve now (after
 * a rollback, v2's drift alert keeps the v1-serving gate in alarm until resolved: docs/dashboard.md, "The drift
 * state"), with that calibration's index version. The gate page's first page of alerts holds every unresolved one.
 */
function alarmsNotServed(v: GateView): { kind: string; version: string; served: string | null }[] {
  const state = v.monitor.state;
  const cur = v.current;
  if (state?.state !== "alarm" || cur === null) return [];
  // "Not served" is decided by calibration id; the names carry the id's end when the served calibration has the same
  // index version (another calibration of v2 served, the alarm's v2 not), as everywhere on the page.
  return v.alerts.alerts.flatMap((a) => {
    if (!state.alert_ids.includes(a.id) || a.calibration_ids.length === 0 || a.calibration_ids.includes(cur.id)) return [];
    const raised = v.calibrations.find((c) => a.calibration_ids.includes(c.id));
    if (raised === undefined) return [{ kind: a.kind, version: `calibration ${a.calibration_ids[0]}`, served: null }];
    const twins = raised.index_version === cur.index_version;
    return [{ kind: a.kind, version: versionName(raised, [cur]), served: twins ? versionName(cur, [raised]) : null }];
  });
}

export function GatePage(props: { view: GateView; q: GateQuery; principal: Principal; csrf: string; path: string }) {
  const { view: v, q } = props;
  const admin = grants(props.principal.scope, "admin");
  const cur = v.current;
  const cmp = v.comparison;
  const series: Series[] = [];
  const markers: Marker[] = [];
  let headline: string | null = null;
  // Two calibrations of one index version are no rebuild: neither threshold is "old" or "carried", each is named.
  const sameVersion = cmp !== null && cmp.older.index_version === cmp.newer.index_version;
  if (cmp !== null) {
    if (v.olderDist) series.push({ label: labelOf(v, cmp.older, cmp.newer), dist: v.olderDist, tone: "prev" });
    if (v.newerDist) series.push({ label: labelOf(v, cmp.newer, cmp.older), dist: v.newerDist, tone: "cur" });
    const oldT = cmp.older.threshold;
    const newT = cmp.newer.threshold;
    const oldWord = sameVersion ? versionOf(cmp.older, cmp.newer) : "old";
    const newWord = sameVersion ? versionOf(cmp.newer, cmp.older) : cmp.newer.policy.kind === "carry" ? "carried" : "new";
    if (oldT !== null) markers.push({ label: `${oldWord} ${num(oldT)}`, value: oldT });
    if (newT !== null && newT !== oldT) markers.push({ label: `${newWord} ${num(newT)}`, value: newT });
    if (sameVersion) headline = sameVersionHeadline(v, cmp);
    else if (oldT !== null && v.olderDist && v.newerDist) {
      headline = `${num(oldT)} drops ${pct(dropRateAt(v.olderDist, oldT), 0)} of ${versionOf(cmp.older, cmp.newer)} and ${pct(dropRateAt(v.newerDist, oldT), 0)} of ${versionOf(cmp.newer, cmp.older)}`;
    }
  } else if (cur !== null && v.currentDist !== null) {
    // A gate with one calibration: its own distribution and threshold, nothing to compare it with.
    series.push({ label: `${cur.index_version} (served)`, dist: v.currentDist, tone: "cur" });
    if (cur.threshold !== null) markers.push({ label: `threshold ${num(cur.threshold)}`, value: cur.threshold });
  }
  // The latest activation, when it rolled back to the older of the two: the page says so next to what is served.
  const last = v.activations[0];
  const rolledBack =
    cmp !== null && cur?.id === cmp.older.id && last?.calibration_id === cur.id && last.previous_calibration_id === cmp.newer.id ? last : null;
  const state = v.monitor.state;
  const notServed = alarmsNotServed(v);
  // The gate's other unresolved alerts (an unscored_candidates, a rebuild_shift, a promotion's stop), which hold no drift
  // alarm: the detector alone would read "watching" beside them. The first page of alerts holds every unresolved one.
  const otherOpen = v.alerts.alerts.filter((a) => a.status !== "resolved" && !(state?.alert_ids ?? []).includes(a.id));
  const gateLabel = gateName(v.gate);
  /** The calibration a series draws (its quantiles fill the plotted-numbers table). */
  const calibrationOf = (s: Series): Calibration | null => (cmp === null ? cur : s.tone === "cur" ? cmp.newer : cmp.older);
  const chartTitle = `Score distributions of ${series.map((s) => s.label).join(" and ")}`;
  const chartDesc = headline ? `${headline}.` : "The share of candidates below each score.";
  return (
    <Layout title={gateLabel} principal={props.principal} csrf={props.csrf} current="overview">
      <p>
        <a href="/ui">All gates</a>
      </p>
      <h1>{gateLabel}</h1>
      {q.flash && (
        <p class="notice" role="status" id="notice">
          {q.flash}
        </p>
      )}
      <AskedPromotionNotice view={v} />
      <div class="grid">
        <div class="panel">
          <div class="muted">Current threshold</div>
          <div class="big" data-field="current-threshold">
            {cur ? num(cur.threshold) : "uncalibrated"}
          </div>
          <div data-field="current-policy">
            {cur
              ? `index version ${cur.index_version}, ${recallPolicyLine(cur) ?? `${cur.policy.kind} policy, expected drop ${pct(cur.expected_drop_rate)}`}`
              : "no active calibration"}
          </div>
          {cur && <GuardLines calibration={cur} />}
          {rolledBack && (
            <div data-field="rolled-back">
              Rolled back from {versionOf(cmp!.newer, cmp!.older)} at {when(rolledBack.activated_at)} by {rolledBack.actor}
              {rolledBack.reason ? `: "${rolledBack.reason}"` : ""}
            </div>
          )}
        </div>
        {headline && (
          <div class="panel" data-field="headline">
            <div class="muted">
              {sameVersion ? "What each calibration's own threshold drops of its own scores" : "What the old threshold means on the rebuilt index"}
            </div>
            <div class="big">{headline}</div>
          </div>
        )}
        <div class="panel" data-field="detector">
          <div class="muted">Drift detector</div>
          <div class="big">
            <span class={`badge ${state?.state ?? "unknown"}`}>{stateWords(state)}</span>
            {state?.since && <span class="state-since"> since {when(state.since)}</span>}
          </div>
          {state?.state === "alarm" && (
            <div>
              {state.alerts.map((a, i) => (
                <>
                  {i > 0 && ", "}
                  {a.alert_id === null ? a.kind : <a href={`/ui/alerts/${a.alert_id}`}>{a.kind}</a>}
                </>
              ))}
              {state.queries_to_arm != null && state.queries_to_arm > 0 && (
                <div class="muted" data-field="queries-to-arm">
                  Detection restarted after this alarm; the next alarm needs at least {state.queries_to_arm} more queries. Resolve the alert once the
                  cause is fixed.
                </div>
              )}
            </div>
          )}
          {notServed.length > 0 && (
            <div data-field="alarm-not-served">
              {notServed
                .map((n) => `${n.kind} was raised against ${n.version}, which is not served now${n.served === null ? "" : ` (${n.served} is)`}`)
                .join("; ")}
              : it holds the alarm until resolved (resolve it once the calibration served now is confirmed)
            </div>
          )}
          {otherOpen.length > 0 && (
            <div data-field="other-open-alerts">
              Also unresolved:{" "}
              {otherOpen.map((a, i) => (
                <>
                  {i > 0 && ", "}
                  <a href={`/ui/alerts/${a.id}`}>{a.kind}</a>
                </>
              ))}
            </div>
          )}
          {state?.state === "not_armed" && (
            <div data-field="queries-to-arm">
              {state.queries_to_arm != null && state.queries_to_arm > 0
                ? `collecting queries: ${state.queries_to_arm} more before the detector can alarm`
                : "collecting the 100 queries the detector needs before it can alarm"}
            </div>
          )}
          {v.monitor.error && <div class="error">monitor unavailable: {v.monitor.error}</div>}
        </div>
      </div>

      <CoverageSection view={v} />

      <h2 id="distributions">Score distributions</h2>
      {series.length === 0 ? (
        <p data-field="no-distribution">
          {cur === null
            ? "No calibration is served, so there is no score distribution to show: activate one below."
            : cmp !== null
              ? `The stored score distributions of ${versionOf(cmp.older, cmp.newer)} and ${versionOf(cmp.newer, cmp.older)} could not be read.`
              : `The stored score distribution of ${cur.index_version} (${cur.id}) could not be read.`}
        </p>
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
                    {s.label} ({count(s.dist.n)} scores)
                  </li>
                ))}
                <li>
                  <span class="sw thr" aria-hidden="true" />
                  thresholds; dots: the drop rate each implies on each distribution
                </li>
                {series.length === 2 && sameShares(series[0]!.dist, series[1]!.dist) && (
                  <li data-field="same-distribution">
                    {series[0]!.label} and {series[1]!.label} have the same share of scores below every score
                    {q.view === "ecdf" ? ": one curve, the dashed line drawn over the solid one" : ": each pair of bars is the same height"}
                  </li>
                )}
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
                  const c = calibrationOf(s);
                  const qs = c?.summary.quantiles ?? [];
                  return { header: s.label, num: true, cell: (p) => num(qs[Math.round(p / (c?.summary.step ?? 0.01))]) };
                }),
              ]}
            />
          </details>

          <h2 id="what-if">What would threshold x drop?</h2>
          <form method="get" action={`${props.path}#what-if`} class="filters">
            <input type="hidden" name="view" value={q.view} />
            <input type="hidden" name="range" value={v.range} />
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

      <RebuildDecision view={v} />
      <PromotionTimeline
        promotions={v.promotions}
        calibrations={v.calibrations}
        gateId={v.gate.gate_id}
        count={v.promotionCount}
        asked={v.askedPromotion?.kind === "older" ? v.askedPromotion.promotion : null}
      />
      <ShadowSection view={v} />

      <ProductionSection view={v} range={v.range} path={props.path} />

      <h2 id="alerts">Alerts</h2>
      {v.alerts.alerts.length === 0 ? (
        <p>No alerts for this gate.</p>
      ) : (
        <ul data-field="gate-alerts">
          {v.alerts.alerts.map((a) => (
            <li data-alert={a.id}>
              <a href={`/ui/alerts/${a.id}`}>
                <span class={`badge ${a.status}`}>{a.status}</span> {a.kind}
              </a>{" "}
              <AlertSummary alert={a} />
            </li>
          ))}
        </ul>
      )}
      {v.alerts.next_cursor !== null && (
        <p>
          <a href={alertsHref({ gateId: v.gate.gate_id }, v.alerts.next_cursor)} rel="next" data-field="more-alerts">
            More alerts of this gate
          </a>
        </p>
      )}

      <GateHistory view={v} admin={admin} csrf={props.csrf} />
    </Layout>
  );
}
