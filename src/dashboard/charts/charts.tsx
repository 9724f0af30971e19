/**
 * Server-rendered SVG charts (hono/jsx). Each chart has a text alternative: a caption, and a table of the plotted
 * numbers next to it (rendered by the pages), because an SVG path says nothing to a screen reader. Like the drop rate
 * over time (time-series.tsx), each is rendered in two layouts (wide and narrow) and one is shown by a media query, so
 * its labels keep their size on a 375 px phone.
 */
import { scaleLinear } from "d3-scale";
import type { Child } from "hono/jsx";
import type { Distribution } from "../../stats/distribution";
import { domainOf, dropRateAt, ecdfPoints, histogram, num, pct, stepPath, textWidth } from "./scale";
import { pctTick } from "./series-parts";

/**
 * The two layouts: width, height, margins and the number of score ticks asked of the scale. The left margin holds a
 * share's tick label ("12.5 %") right of the rotated axis title.
 */
const DIST_LAYOUTS = {
  wide: { W: 720, H: 340, M: { top: 16, right: 20, bottom: 48, left: 70 }, ticks: 8 },
  narrow: { W: 360, H: 300, M: { top: 16, right: 12, bottom: 48, left: 70 }, ticks: 4 },
} as const;

type DistLayout = (typeof DIST_LAYOUTS)[keyof typeof DIST_LAYOUTS];

/**
 * A label's x and anchor: `gap` right of `at`, or `gap` left of it where the text (at `fontSize`, bold or not) would
 * run past the chart's right edge.
 */
function beside(L: DistLayout, at: number, gap: number, text: string, fontSize: number, bold = false): { x: number; textAnchor: "start" | "end" } {
  const width = textWidth(text, fontSize) * (bold ? 1.1 : 1);
  return at + gap + width <= L.W ? { x: at + gap, textAnchor: "start" } : { x: at - gap, textAnchor: "end" };
}

export interface Series {
  readonly label: string;
  readonly dist: Distribution;
  /** "prev" or "cur": colour and dash pattern (styles in ../style.ts). */
  readonly tone: "prev" | "cur";
}

export interface Marker {
  readonly label: string;
  readonly value: number;
}

const COLOR = { prev: "#1f5fa8", cur: "#a8401a" } as const;
const DASH = { prev: "7 4", cur: "" } as const;

function Axes(props: {
  L: DistLayout;
  x: (v: number) => number;
  y: (v: number) => number;
  xTicks: number[];
  yTicks: number[];
  xLabel: string;
  yLabel: string;
  yFormat: (v: number) => string;
}) {
  const { x, y } = props;
  const { W, H, M } = props.L;
  return (
    <g>
      <line x1={M.left} x2={W - M.right} y1={H - M.bottom} y2={H - M.bottom} stroke="#333" />
      <line x1={M.left} x2={M.left} y1={M.top} y2={H - M.bottom} stroke="#333" />
      {props.xTicks.map((t) => (
        <g>
          <line x1={x(t)} x2={x(t)} y1={H - M.bottom} y2={H - M.bottom + 5} stroke="#333" />
          <text x={x(t)} y={H - M.bottom + 19} textAnchor="middle" fontSize="12" fill="#1a1a1a">
            {num(t, 3)}
          </text>
        </g>
      ))}
      {props.yTicks.map((t) => (
        <g>
          <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} stroke="#e3e5e8" />
          <text x={M.left - 8} y={y(t) + 4} textAnchor="end" fontSize="12" fill="#1a1a1a">
            {props.yFormat(t)}
          </text>
        </g>
      ))}
      <text x={(M.left + W - M.right) / 2} y={H - 8} textAnchor="middle" fontSize="13" fill="#1a1a1a">
        {props.xLabel}
      </text>
      <text
        x={14}
        y={(M.top + H - M.bottom) / 2}
        textAnchor="middle"
        fontSize="13"
        fill="#1a1a1a"
        transform={`rotate(-90 14 ${(M.top + H - M.bottom) / 2})`}
      >
        {props.yLabel}
      </text>
    </g>
  );
}

/** The height a dot's label takes (12 px text and a little air), in viewBox units. */
const LABEL_HEIGHT = 14;

/**
 * Where each series' dot label goes at a threshold: above its dot; a label that would say what one already drawn there
 * says (two calibrations with the same scores) is drawn once (labelY null: the dot alone); one that would overlap a
 * different label goes below its dot instead, so the two never print over each other.
 */
function dotLabels(series: readonly Series[], value: number, y: (v: number) => number): { s: Series; r: number; labelY: number | null }[] {
  const drawn: { text: string; y: number }[] = [];
  return series.map((s) => {
    const r = dropRateAt(s.dist, value);
    const text = pct(r, 0);
    const above = y(r) - 6;
    if (drawn.some((d) => d.text === text && Math.abs(d.y - above) < LABEL_HEIGHT)) return { s, r, labelY: null };
    const labelY = drawn.some((d) => Math.abs(d.y - above) < LABEL_HEIGHT) ? y(r) + 6 + LABEL_HEIGHT : above;
    drawn.push({ text, y: labelY });
    return { s, r, labelY };
  });
}

/**
 * ECDF overlay: the share of each distribution below every score, with the thresholds as vertical lines and a dot
 * where each threshold meets each curve (the drop rate it implies on that distribution).
 */
function Ecdf(props: EcdfProps & { layout: keyof typeof DIST_LAYOUTS }) {
  const L = DIST_LAYOUTS[props.layout];
  const { W, H, M } = L;
  const dom = domainOf(
    props.series.map((s) => s.dist),
    props.markers.map((m) => m.value),
  );
  const x = scaleLinear()
    .domain(dom)
    .range([M.left, W - M.right]);
  const y = scaleLinear()
    .domain([0, 1])
    .range([H - M.bottom, M.top]);
  const id = `ecdf-${props.layout}`;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} data-chart="ecdf" data-layout={props.layout}>
      <title id={`${id}-title`}>{props.title}</title>
      <desc id={`${id}-desc`}>{props.desc}</desc>
      <Axes
        L={L}
        x={x}
        y={y}
        xTicks={x.ticks(L.ticks)}
        yTicks={[0, 0.2, 0.4, 0.6, 0.8, 1]}
        xLabel="reranker score"
        yLabel="share of candidates below"
        yFormat={(v) => pct(v, 0)}
      />
      {/* the dashed curves last: where two curves coincide, the solid one shows through the dashes */}
      {[...props.series]
        .sort((a, b) => DASH[a.tone].length - DASH[b.tone].length)
        .map((s) => (
          <path
            d={stepPath(ecdfPoints(s.dist), x, y)}
            fill="none"
            stroke={COLOR[s.tone]}
            strokeWidth="2.5"
            strokeDasharray={DASH[s.tone] || undefined}
            data-series={s.label}
          />
        ))}
      {props.markers.map((m, i) => (
        <g data-threshold={String(m.value)}>
          <line x1={x(m.value)} x2={x(m.value)} y1={M.top} y2={H - M.bottom} stroke="#333" strokeWidth="1.5" strokeDasharray="2 3" />
          <text {...beside(L, x(m.value), 4, m.label, 12)} y={M.top + 12 + i * 15} fontSize="12" fill="#1a1a1a">
            {m.label}
          </text>
          {dotLabels(props.series, m.value, y).map(({ s, r, labelY }) => (
            <g>
              <circle cx={x(m.value)} cy={y(r)} r="4.5" fill={COLOR[s.tone]} stroke="#fff" strokeWidth="1" />
              {labelY !== null && (
                <text {...beside(L, x(m.value), 7, pct(r, 0), 12, true)} y={labelY} fontSize="12" fontWeight="bold" fill={COLOR[s.tone]}>
                  {pct(r, 0)}
                </text>
              )}
            </g>
          ))}
        </g>
      ))}
    </svg>
  );
}

interface EcdfProps {
  readonly series: readonly Series[];
  readonly markers: readonly Marker[];
  readonly title: string;
  readonly desc: string;
}

/**
 * The chart in both layouts (one shown at a time by the stylesheet's media query), with one title and description
 * each: the hidden one is display:none, so assistive technology meets the chart once.
 */
function BothLayouts(props: { wide: Child; narrow: Child }) {
  return (
    <div class="layouts">
      <div class="wide-only">{props.wide}</div>
      <div class="narrow-only">{props.narrow}</div>
    </div>
  );
}

/**
 * ECDF overlay: the share of each distribution below every score, with the thresholds as vertical lines and a dot
 * where each threshold meets each curve (the drop rate it implies on that distribution).
 */
export function EcdfChart(props: EcdfProps) {
  return <BothLayouts wide={<Ecdf {...props} layout="wide" />} narrow={<Ecdf {...props} layout="narrow" />} />;
}

type HistogramProps = EcdfProps & { readonly bins: number };

function Histogram(props: HistogramProps & { layout: keyof typeof DIST_LAYOUTS }) {
  const L = DIST_LAYOUTS[props.layout];
  const { W, H, M } = L;
  const dom = domainOf(
    props.series.map((s) => s.dist),
    props.markers.map((m) => m.value),
  );
  const hists = props.series.map((s) => histogram(s.dist, dom[0], dom[1], props.bins));
  const top = Math.max(0.01, ...hists.flat().map((b) => b.share)) * 1.1;
  const x = scaleLinear()
    .domain(dom)
    .range([M.left, W - M.right]);
  const y = scaleLinear()
    .domain([0, top])
    .range([H - M.bottom, M.top]);
  const bw = (W - M.left - M.right) / props.bins / Math.max(1, props.series.length);
  const id = `hist-${props.layout}`;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} data-chart="histogram" data-layout={props.layout}>
      <title id={`${id}-title`}>{props.title}</title>
      <desc id={`${id}-desc`}>{props.desc}</desc>
      <Axes
        L={L}
        x={x}
        y={y}
        xTicks={x.ticks(L.ticks)}
        yTicks={y.ticks(5)}
        xLabel="reranker score"
        yLabel="share of candidates per bin"
        yFormat={pctTick}
      />
      {hists.map((bins, si) =>
        bins.map((b) => (
          <rect
            x={x(b.lo) + si * bw}
            y={y(b.share)}
            width={Math.max(0.5, bw - 1)}
            height={Math.max(0, H - M.bottom - y(b.share))}
            fill={COLOR[props.series[si]!.tone]}
            fillOpacity={si === 0 ? "0.55" : "0.85"}
          />
        )),
      )}
      {props.markers.map((m, i) => (
        <g>
          <line x1={x(m.value)} x2={x(m.value)} y1={M.top} y2={H - M.bottom} stroke="#333" strokeWidth="1.5" strokeDasharray="2 3" />
          <text {...beside(L, x(m.value), 4, m.label, 12)} y={M.top + 12 + i * 15} fontSize="12" fill="#1a1a1a">
            {m.label}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** Histogram overlay of the same distributions (share of candidates per equal-width score bin). */
export function HistogramChart(props: HistogramProps) {
  return <BothLayouts wide={<Histogram {...props} layout="wide" />} narrow={<Histogram {...props} layout="narrow" />} />;
}
