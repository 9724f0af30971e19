/**
 * The gate page's drop rate over time (server-rendered SVG, hono/jsx): per hour, the observed drop rate of each
 * calibration and traffic (served solid, a shadow's dotted, a candidate arm's dash-dotted: series-parts.ts
 * TRAFFIC_DASH) against its expected rate (dashes) and tolerance band (shaded); for a guarded or abstaining calibration,
 * panels of the share of queries where min_keep bound and of the queries that abstained, each against its test's
 * expected rate and band; and below them the change detector's evidence against its alarm level, with alarms (red triangles and lines) and activations (grey dashed lines, named by
 * index version) marked across both panels.
 *
 * Drawn with d3-scale and d3-shape: a time axis needs ticks on hour and day boundaries with labels that change with
 * the span (hours within a day, dates across days), and hourly lines need gaps where no batch arrived; both libraries
 * do exactly that, are pure (no DOM), small, and render into the same server-side SVG as the other charts. Two layouts
 * (wide and narrow) are rendered and one is shown by a media query, so labels keep their size on a 375 px phone.
 */
import { scaleLinear, scaleUtc } from "d3-scale";
import type { SeriesBucket } from "../../contract";
import { num } from "./scale";
import {
  calibrationsOf,
  Dots,
  Grid,
  hourly,
  LAYOUTS,
  linesOf,
  midLine,
  onLine,
  pctTick,
  r,
  stepBand,
  stepLine,
  steppedOf,
  TRAFFIC_DASH,
} from "./series-parts";
import { type ShareLine, SharePanelView, sharePanelsOf } from "./share-panel";

/** What the chart plots: the series' buckets, its activations and the range shown. */
export interface TimeSeriesInput {
  readonly buckets: readonly SeriesBucket[];
  readonly activations: readonly { readonly at: string; readonly index_version: string }[];
  readonly fromMs: number;
  readonly toMs: number;
  readonly bucketMs: number;
  /** The abstaining calibrations (none: no abstention panel). */
  readonly abstention?: readonly ShareLine[];
  /** The min_keep calibrations (none: no guard-binding panel). */
  readonly guard?: readonly ShareLine[];
  /**
   * Whether a bucket joins two kinds of its calibration's traffic (an hour recorded before the monitor kept each
   * traffic's hours apart, in which a shadow was promoted): its dot is drawn hollow. Absent: none is.
   */
  readonly mixed?: (b: SeriesBucket) => boolean;
}

const ALARM = "#a4161a";

/** The alarms a bucket holds, of every test (drop rate, empty context or guard binding, abstention). */
export const alarmCount = (b: SeriesBucket): number => b.drop_rate_alarms + b.empty_context_alarms + b.abstention_alarms;

/** The alarms in the buckets: when each bucket's last alarm happened, and how many it held. */
export function alarmsOf(buckets: readonly SeriesBucket[]): { at: string; count: number; index_version: string }[] {
  return buckets.filter((b) => b.last_alarm_at !== null).map((b) => ({ at: b.last_alarm_at!, count: alarmCount(b), index_version: b.index_version }));
}

function Chart(props: TimeSeriesInput & { layout: keyof typeof LAYOUTS; id: string; title: string; desc: string }) {
  const L = LAYOUTS[props.layout];
  const rateTop = L.top;
  const rateBottom = rateTop + L.rate;
  // The share panels with something to draw, stacked under the drop rate.
  const { panels, bottom: panelBottom } = sharePanelsOf(
    props.buckets,
    { guard: props.guard ?? [], abstention: props.abstention ?? [] },
    L,
    rateBottom,
  );
  const evTop = panelBottom + L.gap;
  const evBottom = evTop + L.evidence;
  const h = evBottom + L.bottom;
  // The current hour's bucket runs past now: the axis ends where the last bucket does, so its band stays inside.
  const endMs = Math.max(props.toMs, ...props.buckets.map((b) => Date.parse(b.end)));
  const x = scaleUtc()
    .domain([new Date(props.fromMs), new Date(endMs)])
    .range([L.left, L.w - L.right]);
  const rates = props.buckets.flatMap((b) => [b.drop_rate, b.band.hi, b.band.lo, b.expected]).filter((v): v is number => v !== null);
  const y = scaleLinear()
    .domain([Math.max(0, Math.min(...rates, 1) - 0.05), Math.min(1, Math.max(...rates, 0) + 0.05)])
    .range([rateBottom, rateTop])
    .nice(5);
  // The evidence at an alarm can exceed its level a hundredfold: the panel shows up to twice the alarm level, and a
  // higher value is drawn at the top (clamped) with its number written next to it.
  const level = Math.max(...props.buckets.map((b) => b.log_threshold));
  const e = scaleLinear()
    .domain([Math.min(0, ...props.buckets.map((b) => b.max_log_evidence)), 2 * level])
    .range([evBottom, evTop])
    .nice(4)
    .clamp(true);
  const offScale = props.buckets.filter((b) => b.max_log_evidence > e.domain()[1]!);
  const cals = calibrationsOf(props.buckets);
  const xTicks = x.ticks(L.ticks);
  const format = x.tickFormat(L.ticks);
  const mid = (t: number) => x(new Date(t + props.bucketMs / 2));
  const step = (t: number) => x(new Date(t));
  const alarms = alarmsOf(props.buckets);
  return (
    <svg
      viewBox={`0 0 ${L.w} ${h}`}
      role="img"
      aria-labelledby={`${props.id}-title ${props.id}-desc`}
      data-chart="drop-rate-series"
      data-layout={props.layout}
    >
      <title id={`${props.id}-title`}>{props.title}</title>
      <desc id={`${props.id}-desc`}>{props.desc}</desc>
      {/* axes and grid */}
      <Grid L={L} at={y} ticks={y.ticks(5)} label={pctTick} />
      <Grid L={L} at={e} ticks={e.ticks(4)} label={(t) => num(t, 1)} />
      <text x={L.left} y={rateTop - 10} fontSize="13" fontWeight="bold" fill="#1a1a1a">
        Drop rate per hour
      </text>
      <text x={L.left} y={evTop - 10} fontSize="13" fontWeight="bold" fill="#1a1a1a">
        Evidence of a shift (ln R)
      </text>
      {panels.map((panel) => (
        <SharePanelView panel={panel} L={L} cals={cals} step={step} mid={mid} bucketMs={props.bucketMs} />
      ))}
      <line x1={L.left} x2={L.w - L.right} y1={evBottom} y2={evBottom} stroke="#333" />
      <line x1={L.left} x2={L.left} y1={rateTop} y2={rateBottom} stroke="#333" />
      <line x1={L.left} x2={L.left} y1={evTop} y2={evBottom} stroke="#333" />
      <line x1={L.left} x2={L.w - L.right} y1={rateBottom} y2={rateBottom} stroke="#333" />
      {xTicks.map((t) => (
        <g>
          <line x1={r(x(t))} x2={r(x(t))} y1={evBottom} y2={evBottom + 5} stroke="#333" />
          <text x={r(x(t))} y={evBottom + 19} textAnchor="middle" fontSize="12" fill="#1a1a1a">
            {format(t)}
          </text>
        </g>
      ))}
      <text x={(L.left + L.w - L.right) / 2} y={h - 4} textAnchor="middle" fontSize="12" fill="#1a1a1a">
        time (UTC)
      </text>
      {/* per calibration and traffic: band, expected, observed, evidence */}
      {linesOf(props.buckets).map((c) => {
        const mine = props.buckets.filter((b) => onLine(c, b));
        const points = hourly(mine, props.bucketMs);
        const dash = TRAFFIC_DASH[c.traffic];
        // Steps over each bucket's hour: the band and the expected rate hold for the whole hour.
        const stepped = steppedOf(points, props.bucketMs);
        const band = stepBand(
          step,
          (b) => y(b.band.lo),
          (b) => y(b.band.hi),
        );
        const expected = stepLine(step, (b) => y(b.expected));
        const observed = midLine(mid, (b) => (b.drop_rate === null ? null : y(b.drop_rate)));
        const ev = stepLine(step, (b) => e(b.max_log_evidence));
        const last = points.filter((p) => p !== null).at(-1);
        return (
          <g data-calibration={c.calibration_id} data-traffic={c.traffic}>
            <path d={band(stepped) ?? ""} fill={c.tone.color} fillOpacity="0.15" data-part="band" />
            <path d={expected(stepped) ?? ""} fill="none" stroke={c.tone.color} strokeWidth="2" strokeDasharray="6 3" data-part="expected" />
            <path d={observed(points) ?? ""} fill="none" stroke={c.tone.color} strokeWidth="2" strokeDasharray={dash} data-part="observed" />
            <Dots points={points} x={mid} y={y} rate={(b) => b.drop_rate} color={c.tone.color} mixed={props.mixed} />
            <path d={ev(stepped) ?? ""} fill="none" stroke={c.tone.color} strokeWidth="2" strokeDasharray={dash} data-part="evidence" />
            {last && (
              <line
                x1={r(step(Date.parse(mine[0]!.start)))}
                x2={r(step(last.t + props.bucketMs))}
                y1={r(e(last.b.log_threshold))}
                y2={r(e(last.b.log_threshold))}
                stroke={ALARM}
                strokeWidth="1.5"
                strokeDasharray="5 3"
                data-part="alarm-level"
              />
            )}
          </g>
        );
      })}
      {offScale.map((b) => (
        <text x={r(step(Date.parse(b.start)))} y={evTop - 2} fontSize="11" fill={ALARM} textAnchor="middle" data-part="off-scale">
          ↑{num(b.max_log_evidence, 0)}
        </text>
      ))}
      {/* activations, then alarms, across both panels */}
      {props.activations.map((a, i) => {
        const ax = r(x(new Date(a.at)));
        return (
          <g data-marker="activation">
            <line x1={ax} x2={ax} y1={rateTop} y2={evBottom} stroke="#4a4a4a" strokeWidth="1.5" strokeDasharray="3 3" />
            <text
              x={ax > L.w - 40 ? ax - 3 : ax + 3}
              y={rateTop + 12 + (i % 3) * 13}
              fontSize="12"
              fill="#1a1a1a"
              textAnchor={ax > L.w - 40 ? "end" : "start"}
            >
              {a.index_version}
            </text>
          </g>
        );
      })}
      {alarms.map((a) => {
        const ax = r(x(new Date(a.at)));
        return (
          <g data-marker="alarm">
            <line x1={ax} x2={ax} y1={rateTop} y2={evBottom} stroke={ALARM} strokeWidth="1" />
            <path d={`M${ax - 6},${rateTop - 1}L${ax + 6},${rateTop - 1}L${ax},${rateTop + 9}Z`} fill={ALARM} />
          </g>
        );
      })}
    </svg>
  );
}

/**
 * The chart in both layouts (one shown at a time by the stylesheet's media query), with one title and description
 * each: the hidden one is display:none, so assistive technology meets the chart once.
 */
export function DropRateSeriesChart(props: TimeSeriesInput & { title: string; desc: string }) {
  return (
    <div class="series-chart">
      <div class="wide-only">
        <Chart {...props} layout="wide" id="series-wide" />
      </div>
      <div class="narrow-only">
        <Chart {...props} layout="narrow" id="series-narrow" />
      </div>
    </div>
  );
}
