/**
 * The drawing parts of the gate page's hourly chart (time-series.tsx) and its share panels (share-panel.tsx): the two
 * layouts, one tone per calibration, hour-by-hour points with gaps, step lines and bands over whole hours, the observed
 * rate's line and dots, and a panel's grid.
 */
import { area, curveStepAfter, line } from "d3-shape";
import type { SeriesBucket, SeriesTraffic } from "../../contract";
import { num, percent } from "./scale";

export const LAYOUTS = {
  wide: { w: 720, rate: 230, abstention: 110, evidence: 120, gap: 44, left: 58, right: 20, top: 26, bottom: 40, ticks: 8 },
  narrow: { w: 360, rate: 220, abstention: 110, evidence: 120, gap: 44, left: 50, right: 12, top: 26, bottom: 40, ticks: 4 },
} as const;

/**
 * One colour per calibration, in order of first appearance (contrast at least 4.5:1 on white), and the legend's class
 * of the same colour (../style.ts: the pages allow no inline styles).
 */
export const TONES = [
  { color: "#1f5fa8", cls: "tone-0" },
  { color: "#a8401a", cls: "tone-1" },
  { color: "#1b6e20", cls: "tone-2" },
  { color: "#5b2ca0", cls: "tone-3" },
] as const;

/** SVG coordinates to a tenth of a pixel: smaller pages, the same picture. */
export const r = (v: number): number => Math.round(v * 10) / 10;

/** A share as a tick label: "12.5 %". */
export const pctTick = (v: number): string => percent(num(v * 100, 1));

/** One of the two layouts. */
export type Layout = (typeof LAYOUTS)[keyof typeof LAYOUTS];

/** The calibrations in the buckets, in order of first appearance, with their tone. */
export function calibrationsOf(buckets: readonly SeriesBucket[]): { calibration_id: string; index_version: string; tone: (typeof TONES)[number] }[] {
  const seen = new Map<string, string>();
  for (const b of buckets) if (!seen.has(b.calibration_id)) seen.set(b.calibration_id, b.index_version);
  return [...seen].map(([calibration_id, index_version], i) => ({ calibration_id, index_version, tone: TONES[i % TONES.length]! }));
}

/** One line of the chart: a calibration's hours of one traffic, in the calibration's tone. */
export interface SeriesLine {
  readonly calibration_id: string;
  readonly index_version: string;
  readonly traffic: SeriesTraffic;
  readonly tone: (typeof TONES)[number];
}

/** A bucket's line: its traffic ("served" for an hour that has none: the monitor served before it kept traffic apart). */
const trafficOf = (b: SeriesBucket): SeriesTraffic => b.traffic ?? "served";

/**
 * The lines in the buckets, one per calibration and traffic, in order of first appearance: a shadow promoted within the
 * range has a shadow line and a served line, each its own detector's, in its calibration's tone.
 */
export function linesOf(buckets: readonly SeriesBucket[]): SeriesLine[] {
  const tones = new Map(calibrationsOf(buckets).map((c) => [c.calibration_id, c.tone]));
  const seen = new Map<string, SeriesLine>();
  for (const b of buckets) {
    const key = `${b.calibration_id}\u0000${trafficOf(b)}`;
    if (!seen.has(key))
      seen.set(key, { calibration_id: b.calibration_id, index_version: b.index_version, traffic: trafficOf(b), tone: tones.get(b.calibration_id)! });
  }
  return [...seen.values()];
}

/** Whether the bucket is on the line. */
export const onLine = (l: { calibration_id: string; traffic: SeriesTraffic }, b: SeriesBucket): boolean =>
  b.calibration_id === l.calibration_id && trafficOf(b) === l.traffic;

/**
 * How a line of each traffic is stroked (the observed rate and the evidence): served solid, a shadow's dotted, a
 * candidate arm's dash-dotted, so one calibration's lines of two traffics read apart in one colour.
 */
export const TRAFFIC_DASH: Record<SeriesTraffic, string | undefined> = { served: undefined, shadow: "2 3", candidate: "10 3 2 3" };

export type HourPoint = { t: number; b: SeriesBucket } | null;

/** Hour-by-hour points of one calibration from its first bucket to its last, null where no batch arrived (a gap). */
export function hourly(buckets: readonly SeriesBucket[], bucketMs: number): HourPoint[] {
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
export const steppedOf = (points: readonly HourPoint[], bucketMs: number): HourPoint[] =>
  points.flatMap((p) => (p === null ? [null] : [p, { t: p.t + bucketMs, b: p.b }]));

/** A step line over stepped points (gaps where no batch arrived). */
export const stepLine = (x: (t: number) => number, y: (b: SeriesBucket) => number) =>
  line<HourPoint>()
    .defined((p) => p !== null)
    .x((p) => x(p!.t))
    .y((p) => y(p!.b))
    .curve(curveStepAfter)
    .digits(1);

/** A shaded band over stepped points. */
export const stepBand = (x: (t: number) => number, lo: (b: SeriesBucket) => number, hi: (b: SeriesBucket) => number) =>
  area<HourPoint>()
    .defined((p) => p !== null)
    .x((p) => x(p!.t))
    .y0((p) => lo(p!.b))
    .y1((p) => hi(p!.b))
    .curve(curveStepAfter)
    .digits(1);

/** An observed rate through the middle of each hour that has one. */
export const midLine = (x: (t: number) => number, y: (b: SeriesBucket) => number | null) =>
  line<HourPoint>()
    .defined((p) => p !== null && y(p.b) !== null)
    .x((p) => x(p!.t))
    .y((p) => y(p!.b)!)
    .digits(1);

/**
 * Dots on the observed rate, one per hour that has one; hollow (white, ringed in the colour) for an hour `mixed` says
 * joins two kinds of the calibration's traffic.
 */
export function Dots(props: {
  points: readonly HourPoint[];
  x: (t: number) => number;
  y: (v: number) => number;
  rate: (b: SeriesBucket) => number | null;
  color: string;
  mixed?: ((b: SeriesBucket) => boolean) | undefined;
}) {
  return (
    <>
      {props.points.map((p) => {
        const v = p === null ? null : props.rate(p.b);
        if (p === null || v === null) return false;
        return props.mixed?.(p.b) === true ? (
          <circle
            cx={r(props.x(p.t))}
            cy={r(props.y(v))}
            r="3"
            fill="#ffffff"
            stroke={props.color}
            strokeWidth="1.5"
            data-bucket={p.b.start}
            data-mixed="true"
          />
        ) : (
          <circle cx={r(props.x(p.t))} cy={r(props.y(v))} r="2.5" fill={props.color} data-bucket={p.b.start} />
        );
      })}
    </>
  );
}

/** A panel's horizontal grid lines with their tick labels on the left. */
export function Grid(props: { L: Layout; at: (v: number) => number; ticks: readonly number[]; label: (v: number) => string }) {
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
