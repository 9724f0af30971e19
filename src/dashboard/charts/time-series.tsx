/**
 * The gate page's drop rate over time (server-rendered SVG, hono/jsx): per hour, the observed drop rate of each
 * calibration and traffic (served solid, a shadow's dotted, a candidate arm's dash-dotted: series-parts.tsx
 * TRAFFIC_DASH) against its expected rate (dashes) and tolerance band (shaded); for a guarded or abstaining calibration,
 * panels of the share of queries where min_keep bound and of the queries that abstained, each against its test's
 * expected rate and band; and below them the change detector's evidence against its alarm level, with alarms (red triangles and lines) and activations (grey dashed lines, named
 * as the page names their calibrations) marked across both panels. Activations closer together than a label's width
 * share one label ("v1→v2", "5 activations"; its tooltip lists them), so no two labels overprint at any range.
 *
 * Drawn with d3-scale and d3-shape: a time axis needs ticks on hour and day boundaries with labels that change with
 * the span (hours within a day, dates across days), and hourly lines need gaps where no batch arrived; both libraries
 * do exactly that, are pure (no DOM), small, and render into the same server-side SVG as the other charts. Two layouts
 * (wide and narrow) are rendered and one is shown by a media query, so labels keep their size on a 375 px phone.
 */
import { scaleLinear, scaleUtc } from "d3-scale";
import type { SeriesBucket } from "../../contract";
import { versionName } from "../pages/calibration-roles";
import { when } from "../pages/layout";
import { num, textWidth } from "./scale";
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

/** An activation as the chart marks it: when, and its calibration's name as the page writes it ("v1 (d247b3)"). */
export interface ChartActivation {
  readonly at: string;
  readonly name: string;
}

/** What the chart plots: the series' buckets, its activations and the range shown. */
export interface TimeSeriesInput {
  readonly buckets: readonly SeriesBucket[];
  /** Oldest first. */
  readonly activations: readonly ChartActivation[];
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

/** The activation labels' font size, and the space kept between two labels. */
const LABEL_FONT = 12;
const LABEL_GAP = 4;
/** The widest a label of several activations' names may be before it counts them instead ("5 activations"). */
const JOINED_MAX = 120;

/** A label's width in px (an estimate that errs wide). */
const labelWidth = (text: string): number => textWidth(text, LABEL_FONT);

/** One label over the activations it names: its text, where it starts (drawn left-aligned) and ends, and who it names. */
export interface ActivationLabel {
  readonly text: string;
  readonly left: number;
  readonly right: number;
  readonly members: readonly ChartActivation[];
}

/** "v1", "v1→v2→v1" while that fits in JOINED_MAX, else "4 activations". */
function labelText(members: readonly ChartActivation[]): string {
  if (members.length === 1) return members[0]!.name;
  const joined = members.map((m) => m.name).join("→");
  return labelWidth(joined) <= JOINED_MAX ? joined : `${members.length} activations`;
}

/**
 * The labels of activations at `xs` (their x, ascending) on one row between `lo` and `hi`: one per group of activations
 * closer together than a label's width, right of the group's last line; where `hi` leaves no room, left of its first
 * line, or (no room there either) against `hi`. A group whose label would reach the one before it joins that one, so
 * no two labels on the row overlap.
 */
export function activationLabels(activations: readonly ChartActivation[], xs: readonly number[], lo: number, hi: number): ActivationLabel[] {
  type Placed = ActivationLabel & { readonly first: number; readonly last: number };
  const place = (members: readonly ChartActivation[], first: number, last: number): Placed => {
    const text = labelText(members);
    const width = labelWidth(text);
    const left = last + 3 + width <= hi ? last + 3 : first - 3 - width >= lo ? first - 3 - width : Math.max(lo, hi - width);
    return { text, left, right: left + width, members, first, last };
  };
  const out: Placed[] = [];
  activations.forEach((a, i) => {
    const ax = xs[i]!;
    const prev = out.at(-1);
    // its own label would start where the one before still is, or would if that one were drawn right of its lines (a
    // label moved left of them at the right edge ends before its lines): it joins that one
    const reach = prev === undefined ? 0 : Math.max(prev.right, prev.last + 3 + (prev.right - prev.left));
    if (prev !== undefined && ax + 3 < reach + LABEL_GAP) out.splice(-1, 1, place([...prev.members, a], prev.first, ax));
    else out.push(place([a], ax, ax));
    // a label moved left of its lines (at the right edge), or grown, may reach the one before it: they join
    while (out.length >= 2 && out.at(-1)!.left < out.at(-2)!.right + LABEL_GAP) {
      const [b, c] = out.splice(-2, 2) as [Placed, Placed];
      out.push(place([...b.members, ...c.members], b.first, c.last));
    }
  });
  return out.map(({ text, left, right, members }) => ({ text, left, right, members }));
}

/** The off-scale evidence labels' font size, the space between two parts of one label, and the widest a label may grow. */
const OFF_FONT = 11;
const OFF_PART_GAP = 6;
const OFF_MAX = 220;

/** A bucket whose evidence is above the panel's top, with its x, its line's short name and colour. */
export interface OffScaleBucket {
  readonly b: SeriesBucket;
  readonly x: number;
  readonly name: string;
  readonly color: string;
}

/** One label over off-scale buckets: its parts (each line's highest figure, highest first), where it starts and ends. */
export interface OffScaleLabel {
  readonly parts: readonly { readonly text: string; readonly color: string; readonly calibration_id: string; readonly width: number }[];
  readonly left: number;
  readonly right: number;
  readonly members: readonly OffScaleBucket[];
}

/**
 * Labels for evidence above the panel's top, on one row between `lo` and `hi`: each names the line it belongs to
 * ("↑95 v1") in that line's colour. Buckets whose labels would overlap (two lines in one hour, neighbouring hours at
 * 7 or 30 days) share one label, which gives each line's highest figure, highest first ("↑95 v1 ↑75 v3"), as many as
 * fit in OFF_MAX or the row ("+2 more" for the rest); its tooltip lists every bucket.
 */
export function offScaleLabels(items: readonly OffScaleBucket[], lo: number, hi: number): OffScaleLabel[] {
  const widest = Math.min(OFF_MAX, hi - lo);
  const labelOf = (members: readonly OffScaleBucket[]): OffScaleLabel => {
    const byLine = new Map<string, OffScaleBucket>();
    for (const m of members) {
      const key = `${m.name}\u0000${m.color}`;
      const seen = byLine.get(key);
      if (seen === undefined || m.b.max_log_evidence > seen.b.max_log_evidence) byLine.set(key, m);
    }
    const lines = [...byLine.values()].sort((a, b) => b.b.max_log_evidence - a.b.max_log_evidence);
    const parts: OffScaleLabel["parts"][number][] = [];
    let width = 0;
    for (const [i, m] of lines.entries()) {
      const text = `↑${num(m.b.max_log_evidence, 0)} ${m.name}`;
      const w = textWidth(text, OFF_FONT);
      const rest = lines.length - i - 1;
      const more = rest === 0 ? 0 : OFF_PART_GAP + textWidth(`+${rest} more`, OFF_FONT);
      if (i > 0 && width + OFF_PART_GAP + w + more > widest) {
        const counted = `+${lines.length - i} more`;
        parts.push({ text: counted, color: "#1a1a1a", calibration_id: "", width: textWidth(counted, OFF_FONT) });
        width += OFF_PART_GAP + textWidth(counted, OFF_FONT);
        break;
      }
      parts.push({ text, color: m.color, calibration_id: m.b.calibration_id, width: w });
      width += (i > 0 ? OFF_PART_GAP : 0) + w;
    }
    const centre = (members[0]!.x + members.at(-1)!.x) / 2;
    const left = Math.min(Math.max(lo, centre - width / 2), Math.max(lo, hi - width));
    return { parts, left, right: left + width, members };
  };
  const sorted = [...items].sort((a, b) => a.x - b.x || b.b.max_log_evidence - a.b.max_log_evidence);
  const out: OffScaleLabel[] = [];
  for (const item of sorted) {
    out.push(labelOf([item]));
    // a label that reaches the one before it joins that one (and the joined label may reach the one before)
    while (out.length >= 2 && out.at(-1)!.left < out.at(-2)!.right + LABEL_GAP) {
      const [a, b] = out.splice(-2, 2) as [OffScaleLabel, OffScaleLabel];
      out.push(labelOf([...a.members, ...b.members]));
    }
  }
  return out;
}

/** The evidence panel's title, above its top left: off-scale labels start right of it, so the two never overprint. */
const EVIDENCE_TITLE = "Evidence of a shift (ln R)";
const EVIDENCE_TITLE_FONT = 13;

const TRAFFIC_SHORT = { served: "served", shadow: "shadow", candidate: "candidate" } as const;

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
  const cals = calibrationsOf(props.buckets);
  const xTicks = x.ticks(L.ticks);
  const format = x.tickFormat(L.ticks);
  const mid = (t: number) => x(new Date(t + props.bucketMs / 2));
  const step = (t: number) => x(new Date(t));
  const alarms = alarmsOf(props.buckets);
  const lines = linesOf(props.buckets);
  // An off-scale label names its line: the version (its id's end when two calibrations share it), and its traffic
  // when the calibration has more than one line.
  const offScale = offScaleLabels(
    props.buckets
      .filter((b) => b.max_log_evidence > e.domain()[1]!)
      .map((b) => {
        const line = lines.find((l) => onLine(l, b))!;
        const version = versionName(b, cals);
        const several = lines.filter((l) => l.calibration_id === b.calibration_id).length > 1;
        return { b, x: step(Date.parse(b.start)), name: several ? `${version} ${TRAFFIC_SHORT[line.traffic]}` : version, color: line.tone.color };
      }),
    L.left + textWidth(EVIDENCE_TITLE, EVIDENCE_TITLE_FONT) + LABEL_GAP,
    L.w - L.right,
  );
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
      <text x={L.left} y={evTop - 10} fontSize={EVIDENCE_TITLE_FONT} fontWeight="bold" fill="#1a1a1a">
        {EVIDENCE_TITLE}
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
      {offScale.map((l) => (
        <g data-part="off-scale-label" data-buckets={l.members.length}>
          <title>
            {l.members
              .map((m) => `${m.name}: evidence ln R ${num(m.b.max_log_evidence, 1)} in the hour from ${when(m.b.start)}, above the panel's top`)
              .join("; ")}
          </title>
          <text x={r(l.left)} y={evTop - 2} fontSize={OFF_FONT} data-part="off-scale">
            {l.parts.map((p, i) => (
              <tspan fill={p.color} dx={i > 0 ? OFF_PART_GAP : undefined} data-calibration={p.calibration_id || undefined}>
                {p.text}
              </tspan>
            ))}
          </text>
        </g>
      ))}
      {/* activations, then alarms, across both panels */}
      {props.activations.map((a) => {
        const ax = r(x(new Date(a.at)));
        return (
          <g data-marker="activation">
            <line x1={ax} x2={ax} y1={rateTop} y2={evBottom} stroke="#4a4a4a" strokeWidth="1.5" strokeDasharray="3 3" />
          </g>
        );
      })}
      {activationLabels(
        props.activations,
        props.activations.map((a) => x(new Date(a.at))),
        L.left,
        L.w,
      ).map((l) => (
        <g data-part="activation-label" data-activations={l.members.length}>
          <title>{l.members.map((m) => `${m.name} activated at ${when(m.at)}`).join("; ")}</title>
          <text x={r(l.left)} y={rateTop + 12} fontSize={LABEL_FONT} fill="#1a1a1a">
            {l.text}
          </text>
        </g>
      ))}
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
