/**
 * The gate page's share panels, under the hourly drop rate: per hour, the share of queries where a min_keep
 * calibration's guard bound, and the share that abstained for an abstaining one, each against its monitor test's
 * expected rate (dashes) and band (shaded), in the calibration's colour.
 */
import { type ScaleLinear, scaleLinear } from "d3-scale";
import type { SeriesBucket, SeriesTraffic } from "../../contract";
import { Dots, Grid, hourly, type Layout, midLine, onLine, pctTick, stepBand, stepLine, steppedOf, TONES } from "./series-parts";

/**
 * A calibration in a share panel (the guard-binding panel of a min_keep calibration, the abstention panel of one with
 * `abstain_below`): its share of queries per hour against the rate its monitor's test expects and the band it tests
 * (null: not known yet, nothing drawn).
 */
export interface ShareLine {
  readonly calibration_id: string;
  /** Whose traffic's hours (time-series.tsx draws each calibration's traffic as its own line). */
  readonly traffic: SeriesTraffic;
  readonly expected: number | null;
  readonly band: readonly [number, number] | null;
}

/**
 * The share panels, top to bottom: what each plots per hour, which hours make a calibration worth drawing (a guard
 * that bound; queries that reported abstention), and its heading.
 */
const SHARE_PANELS = {
  guard: {
    title: "Guard binding per hour (share of queries where min_keep bound)",
    // every query of the hour counts: clients that report `below` are the guarded calibration's (docs/clients.md)
    rate: (b: SeriesBucket): number | null => (b.queries > 0 ? b.guard_bound_queries / b.queries : null),
    shows: (b: SeriesBucket): boolean => b.guard_bound_queries > 0,
  },
  abstention: {
    title: "Abstention per hour (share of queries)",
    rate: (b: SeriesBucket): number | null => b.abstention_rate,
    shows: (b: SeriesBucket): boolean => b.abstention_rate !== null,
  },
} as const;
export type SharePanel = keyof typeof SHARE_PANELS;

/** The hour's share a panel plots (null: nothing to plot), for the chart, its text alternative and the hourly table. */
export const shareRate = (panel: SharePanel, b: SeriesBucket): number | null => SHARE_PANELS[panel].rate(b);

/** Whether the hour puts its calibration in the panel (a guard that bound; queries that reported abstention). */
export const shareShows = (panel: SharePanel, b: SeriesBucket): boolean => SHARE_PANELS[panel].shows(b);

/**
 * The calibrations of a share panel that have an hour with a share to draw, with their buckets: what the panel draws
 * (empty: no panel). The abstention panel needs queries that reported abstention; the guard panel, a guard that bound.
 */
export function shareShown(
  panel: SharePanel,
  buckets: readonly SeriesBucket[],
  lines: readonly ShareLine[],
): { line: ShareLine; buckets: SeriesBucket[] }[] {
  return lines.map((line) => ({ line, buckets: buckets.filter((b) => onLine(line, b)) })).filter((a) => a.buckets.some(SHARE_PANELS[panel].shows));
}

/** A share panel as the chart draws it: its calibrations, its place and its scale. */
export interface PanelLayout {
  readonly name: SharePanel;
  readonly shown: { line: ShareLine; buckets: SeriesBucket[] }[];
  readonly top: number;
  readonly bottom: number;
  readonly scale: ScaleLinear<number, number>;
  readonly rate: (b: SeriesBucket) => number | null;
}

/** The panels with something to draw, top to bottom from `from`, each with its own scale; `bottom`: where they end. */
export function sharePanelsOf(
  buckets: readonly SeriesBucket[],
  lines: Record<SharePanel, readonly ShareLine[]>,
  L: Layout,
  from: number,
): { panels: PanelLayout[]; bottom: number } {
  let bottom = from;
  const panels = (["guard", "abstention"] as const).flatMap((name) => {
    const shown = shareShown(name, buckets, lines[name]);
    if (shown.length === 0) return [];
    const top = bottom + L.gap;
    bottom = top + L.abstention;
    const rate = SHARE_PANELS[name].rate;
    const values = shown
      .flatMap(({ line: l, buckets: mine }) => [...mine.map(rate), l.expected, ...(l.band ?? [])])
      .filter((v): v is number => v !== null);
    const scale = scaleLinear()
      .domain([0, Math.min(1, Math.max(...values, 0) + 0.05)])
      .range([bottom, top])
      .nice(3);
    return [{ name, shown, top, bottom, scale, rate }];
  });
  return { panels, bottom };
}

/** One share panel: its grid, heading and axes, and per calibration its band, expected rate, shares and dots. */
export function SharePanelView(props: {
  panel: PanelLayout;
  L: Layout;
  cals: readonly { calibration_id: string; tone: { color: string } }[];
  step: (t: number) => number;
  mid: (t: number) => number;
  bucketMs: number;
}) {
  const { name, shown, top, bottom, scale: ab, rate } = props.panel;
  const { L, cals, step, mid } = props;
  return (
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
          <g data-calibration={l.calibration_id} data-traffic={l.traffic}>
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
  );
}
