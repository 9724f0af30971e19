/**
 * The gate page's drop rate over time (server-rendered SVG, hono/jsx): per hour, the observed drop rate of each
 * calibration against its expected rate (dashes) and tolerance band (shaded); for a guarded or abstaining calibration,
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
import { area, curveStepAfter, line } from "d3-shape";
import type { SeriesBucket } from "../../contract";
import { num } from "./scale";

/**
 * A calibration in a share panel (the guard-binding panel of a min_keep calibration, the abstention panel of one with
 * `abstain_below`): its share of queries per hour against the rate its monitor's test expects and the band it tests
 * (null: not known yet, nothing drawn).
 */
export interface ShareLine {
  readonly calibration_id: string;
  readonly expected: number | null;
  readonly band: readonly [number, number] | null;
}

/** The share panels, top to bottom: what each plots per hour, and its heading. */
const SHARE_PANELS = {
  guard: {
    title: "Guard binding per hour (share of queries where min_keep bound)",
    // every query of the hour counts: clients that report `below` are the guarded calibration's (docs/clients.md)
    rate: (b: SeriesBucket): number | null => (b.queries > 0 ? b.guard_bound_queries / b.queries : null),
  },
  abstention: {
    title: "Abstention per hour (share of queries)",
    rate: (b: SeriesBucket): number | null => b.abstention_rate,
  },
} as const;
export type SharePanel = keyof typeof SHARE_PANELS;

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
}

const LAYOUTS = {
  wide: { w: 720, rate: 230, abstention: 110, evidence: 120, gap: 44, left: 58, right: 20, top: 26, bottom: 40, ticks: 8 },
  narrow: { w: 360, rate: 220, abstention: 110, evidence: 120, gap: 44, left: 50, right: 12, top: 26, bottom: 40, ticks: 4 },
} as const;

/**
 * One colour per calibration, in order of first appearance (contrast at least 4.5:1 on white), and the legend's class
 * of the same colour (../style.ts: the pages allow no inline styles).
 */
const TONES = [
  { color: "#1f5fa8", cls: "tone-0" },
  { color: "#a8401a", cls: "tone-1" },
  { color: "#1b6e20", cls: "tone-2" },
  { color: "#5b2ca0", cls: "tone-3" },
] as const;
const ALARM = "#a4161a";

/** SVG coordinates to a tenth of a pixel: smaller pages, the same picture. */
const r = (v: number): number => Math.round(v * 10) / 10;

/** The alarms a bucket holds, of every test (drop rate, empty context or guard binding, abstention). */
export const alarmCount = (b: SeriesBucket): number => b.drop_rate_alarms + b.empty_context_alarms + b.abstention_alarms;

/** The alarms in the buckets: when each bucket's last alarm happened, and how many it held. */
export function alarmsOf(buckets: readonly SeriesBucket[]): { at: string; count: number; index_version: string }[] {
  return buckets.filter((b) => b.last_alarm_at !== null).map((b) => ({ at: b.last_alarm_at!, count: alarmCount(b), index_version: b.index_version }));
}

/** The calibrations in the buckets, in order of first appearance, with their tone. */
export function calibrationsOf(buckets: readonly SeriesBucket[]): { calibration_id: string; index_version: string; tone: (typeof TONES)[number] }[] {
  const seen = new Map<string, string>();
  for (const b of buckets) if (!seen.has(b.calibration_id)) seen.set(b.calibration_id, b.index_version);
  return [...seen].map(([calibration_id, index_version], i) => ({ calibration_id, index_version, tone: TONES[i % TONES.length]! }));
}

/**
 * The calibrations of a share panel that have an hour with a share to draw, with their buckets: what the panel draws
 * (empty: no panel). The abstention panel needs queries that reported abstention; the guard panel, a guard that bound.
 */
export function shareShown(
  panel: SharePanel,
  buckets: readonly SeriesBucket[],
  lines: readonly ShareLine[],
): { line: ShareLine; buckets: SeriesBucket[] }[] {
  const shown = panel === "guard" ? (b: SeriesBucket) => b.guard_bound_queries > 0 : (b: SeriesBucket) => b.abstention_rate !== null;
  return lines
    .map((line) => ({ line, buckets: buckets.filter((b) => b.calibration_id === line.calibration_id) }))
    .filter((a) => a.buckets.some(shown));
}

/** The abstention panel's calibrations (shareShown of "abstention"). */
export const abstentionShown = (buckets: readonly SeriesBucket[], lines: readonly ShareLine[]) => shareShown("abstention", buckets, lines);

type HourPoint = { t: number; b: SeriesBucket } | null;

/** Hour-by-hour points of one calibration from its first bucket to its last, null where no batch arrived (a gap). */
function hourly(buckets: readonly SeriesBucket[], bucketMs: number): HourPoint[] {
  const out: HourPoint[] = [];
  let last: number | null = null;
  for (const b of buckets) {
    const t = Date.parse(b.start);
    if (last !== null && t - last > bucketMs) out.push(null);
    out.push({ t, b });
    last = t;
  }
  return out;
}

/** Each point twice, at its hour's start and end: a band or an expected rate holds for the whole hour. */
const steppedOf = (points: readonly HourPoint[], bucketMs: number): HourPoint[] =>
  points.flatMap((p) => (p === null ? [null] : [p, { t: p.t + bucketMs, b: p.b }]));

/** A step line over stepped points (gaps where no batch arrived). */
const stepLine = (x: (t: number) => number, y: (b: SeriesBucket) => number) =>
  line<HourPoint>()
    .defined((p) => p !== null)
    .x((p) => x(p!.t))
    .y((p) => y(p!.b))
    .curve(curveStepAfter)
    .digits(1);

/** A shaded band over stepped points. */
const stepBand = (x: (t: number) => number, lo: (b: SeriesBucket) => number, hi: (b: SeriesBucket) => number) =>
  area<HourPoint>()
    .defined((p) => p !== null)
    .x((p) => x(p!.t))
    .y0((p) => lo(p!.b))
    .y1((p) => hi(p!.b))
    .curve(curveStepAfter)
    .digits(1);

/** An observed rate through the middle of each hour that has one. */
const midLine = (x: (t: number) => number, y: (b: SeriesBucket) => number | null) =>
  line<HourPoint>()
    .defined((p) => p !== null && y(p.b) !== null)
    .x((p) => x(p!.t))
    .y((p) => y(p!.b)!)
    .digits(1);

/** Dots on the observed rate, one per hour that has one. */
function Dots(props: {
  points: readonly HourPoint[];
  x: (t: number) => number;
  y: (v: number) => number;
  rate: (b: SeriesBucket) => number | null;
  color: string;
}) {
  return (
    <>
      {props.points.map((p) => {
        const v = p === null ? null : props.rate(p.b);
        return p !== null && v !== null && <circle cx={r(props.x(p.t))} cy={r(props.y(v))} r="2.5" fill={props.color} data-bucket={p.b.start} />;
      })}
    </>
  );
}

/** A panel's horizontal grid lines with their tick labels on the left. */
function Grid(props: {
  L: (typeof LAYOUTS)[keyof typeof LAYOUTS];
  at: (v: number) => number;
  ticks: readonly number[];
  label: (v: number) => string;
}) {
  const { L } = props;
  return (
    <>
      {props.ticks.map((t) => (
        <g>
          <line x1={L.left} x2={L.w - L.right} y1={r(props.at(t))} y2={r(props.at(t))} stroke="#e3e5e8" />
          <text x={L.left - 6} y={r(props.at(t) + 4)} textAnchor="end" fontSize="12" fill="#1a1a1a">
            {props.label(t)}
          </text>
        </g>
      ))}
    </>
  );
}

function Chart(props: TimeSeriesInput & { layout: keyof typeof LAYOUTS; id: string; title: string; desc: string }) {
  const L = LAYOUTS[props.layout];
  const rateTop = L.top;
  const rateBottom = rateTop + L.rate;
  // The share panels with something to draw, stacked under the drop rate, each with its own scale.
  let panelBottom = rateBottom;
  const panels = (["guard", "abstention"] as const).flatMap((name) => {
    const shown = shareShown(name, props.buckets, props[name] ?? []);
    if (shown.length === 0) return [];
    const top = panelBottom + L.gap;
    panelBottom = top + L.abstention;
    const rate = SHARE_PANELS[name].rate;
    const values = shown
      .flatMap(({ line: l, buckets }) => [...buckets.map(rate), l.expected, ...(l.band ?? [])])
      .filter((v): v is number => v !== null);
    const scale = scaleLinear()
      .domain([0, Math.min(1, Math.max(...values, 0) + 0.05)])
      .range([panelBottom, top])
      .nice(3);
    return [{ name, shown, top, bottom: panelBottom, scale, rate }];
  });
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
  const pctTick = (v: number) => `${num(v * 100, 1)} %`;
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
      {panels.map(({ name, shown, top, bottom, scale: ab, rate }) => (
        <g data-panel={name}>
          <Grid L={L} at={ab} ticks={ab.ticks(3)} label={pctTick} />
          <text x={L.left} y={top - 10} fontSize="13" fontWeight="bold" fill="#1a1a1a">
            {SHARE_PANELS[name].title}
          </text>
          <line x1={L.left} x2={L.left} y1={top} y2={bottom} stroke="#333" />
          <line x1={L.left} x2={L.w - L.right} y1={bottom} y2={bottom} stroke="#333" />
          {shown.map(({ line: l, buckets }) => {
            const color = cals.find((c) => c.calibration_id === l.calibration_id)?.tone.color ?? TONES[0].color;
            const points = hourly(buckets, props.bucketMs);
            const stepped = steppedOf(points, props.bucketMs);
            return (
              <g data-calibration={l.calibration_id}>
                {l.band && (
                  <path
                    d={
                      stepBand(
                        step,
                        () => ab(l.band![0]),
                        () => ab(l.band![1]),
                      )(stepped) ?? ""
                    }
                    fill={color}
                    fillOpacity="0.15"
                    data-part={`${name}-band`}
                  />
                )}
                {l.expected !== null && (
                  <path
                    d={stepLine(step, () => ab(l.expected!))(stepped) ?? ""}
                    fill="none"
                    stroke={color}
                    strokeWidth="2"
                    strokeDasharray="6 3"
                    data-part={`${name}-expected`}
                  />
                )}
                <path
                  d={
                    midLine(mid, (b) => {
                      const v = rate(b);
                      return v === null ? null : ab(v);
                    })(points) ?? ""
                  }
                  fill="none"
                  stroke={color}
                  strokeWidth="2"
                  strokeDasharray="2 2"
                  data-part={name}
                />
                <Dots points={points} x={mid} y={ab} rate={rate} color={color} />
              </g>
            );
          })}
        </g>
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
      {/* per calibration: band, expected, observed, evidence */}
      {cals.map((c) => {
        const points = hourly(
          props.buckets.filter((b) => b.calibration_id === c.calibration_id),
          props.bucketMs,
        );
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
          <g data-calibration={c.calibration_id}>
            <path d={band(stepped) ?? ""} fill={c.tone.color} fillOpacity="0.15" data-part="band" />
            <path d={expected(stepped) ?? ""} fill="none" stroke={c.tone.color} strokeWidth="2" strokeDasharray="6 3" data-part="expected" />
            <path d={observed(points) ?? ""} fill="none" stroke={c.tone.color} strokeWidth="2" data-part="observed" />
            <Dots points={points} x={mid} y={y} rate={(b) => b.drop_rate} color={c.tone.color} />
            <path d={ev(stepped) ?? ""} fill="none" stroke={c.tone.color} strokeWidth="2" data-part="evidence" />
            {last && (
              <line
                x1={r(step(Date.parse(props.buckets.find((b) => b.calibration_id === c.calibration_id)!.start)))}
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
