/**
 * Pure helpers for the dashboard's server-rendered SVG charts: the ECDF and histogram series of a stored distribution
 * (src/stats/distribution.ts), and the number formats. Scales and ticks are d3-scale's. No DOM and no runtime
 * imports, so they unit-test in Node (test/dashboard/scale.test.ts).
 */

import { countText } from "../../platform/format";
import { countBelowIn, type Distribution, shareBelow } from "../../stats/distribution";

/** The domain [min, max] over several distributions, padded by 2 % so curves do not touch the frame. */
export function domainOf(dists: readonly Distribution[], extra: readonly number[] = []): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const d of dists) {
    if (d.values.length === 0) continue;
    lo = Math.min(lo, d.values[0]!);
    hi = Math.max(hi, d.values[d.values.length - 1]!);
  }
  for (const x of extra) {
    if (!Number.isFinite(x)) continue;
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  const pad = (hi - lo) * 0.02 || 0.5;
  return [lo - pad, hi + pad];
}

/**
 * Whether two distributions have the same share below and at every score (the same knots, the counts in the same
 * proportion): their ECDFs are one curve, whatever their sizes.
 */
export function sameShares(a: Distribution, b: Distribution): boolean {
  if (a.values.length !== b.values.length || a.n === 0 || b.n === 0) return false;
  for (let i = 0; i < a.values.length; i++) {
    if (a.values[i] !== b.values[i] || a.below[i]! * b.n !== b.below[i]! * a.n || a.atOrBelow[i]! * b.n !== b.atOrBelow[i]! * a.n) return false;
  }
  return true;
}

/**
 * ECDF points (x, share at or below x) of a stored distribution, at most `maxPoints` knots (evenly spaced in rank,
 * always the first and the last), so the SVG path stays small whatever the calibration size.
 */
export function ecdfPoints(dist: Distribution, maxPoints = 240): [number, number][] {
  const k = dist.values.length;
  if (k === 0) return [];
  const step = Math.max(1, Math.ceil(k / maxPoints));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i += step) out.push([dist.values[i]!, dist.atOrBelow[i]! / dist.n]);
  if ((k - 1) % step !== 0) out.push([dist.values[k - 1]!, dist.atOrBelow[k - 1]! / dist.n]);
  return out;
}

/** An SVG path through the ECDF as a right-continuous step function: flat until the next knot, then up. */
export function stepPath(points: readonly [number, number][], x: (v: number) => number, y: (v: number) => number): string {
  if (points.length === 0) return "";
  const f = (v: number) => Number(v.toFixed(2));
  const [x0, y0] = points[0]!;
  let d = `M${f(x(x0))},${f(y(0))}V${f(y(y0))}`;
  for (let i = 1; i < points.length; i++) {
    const [xi, yi] = points[i]!;
    d += `H${f(x(xi))}V${f(y(yi))}`;
  }
  return d;
}

export interface Bin {
  readonly lo: number;
  readonly hi: number;
  /** Share of the distribution in [lo, hi) (the last bin includes hi). */
  readonly share: number;
}

/** Equal-width histogram of a stored distribution over [lo, hi] (shares from the kept counts, exact at knots). */
export function histogram(dist: Distribution, lo: number, hi: number, bins: number): Bin[] {
  const out: Bin[] = [];
  const width = (hi - lo) / bins;
  for (let i = 0; i < bins; i++) {
    const a = lo + i * width;
    const b = i === bins - 1 ? hi : a + width;
    const upper = i === bins - 1 ? dist.n - countBelowIn(dist, a) : countBelowIn(dist, b) - countBelowIn(dist, a);
    out.push({ lo: a, hi: b, share: Math.max(0, upper) / dist.n });
  }
  return out;
}

/**
 * A label's width in px at `fontSize`, estimated from its characters (no DOM on the server): the page's font (DejaVu
 * Sans, a wide one) at its widest for digits and letters, rounded up, so an estimate errs towards room to spare.
 */
export function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text)
    em += ch === " " || ch === "\u00a0" ? 0.32 : ch === "(" || ch === ")" ? 0.4 : ch === "→" ? 0.84 : /[A-Z%]/u.test(ch) ? 0.84 : 0.66;
  return Math.ceil(em * fontSize);
}

/** The drop rate of a gate at threshold x on a distribution: the share strictly below x (null threshold: 0). */
export const dropRateAt = (dist: Distribution, x: number | null): number => (x === null ? 0 : shareBelow(dist, x));

/**
 * The space between a figure and its unit ("%", "points") on every page: non-breaking, so a line never ends between
 * a number and its unit ("22.0 ⏎ %").
 */
export const UNIT_SPACE = "\u00a0";

/**
 * A sentence the server wrote (an alert's summary, a shift's reason), shown with its figures joined to their units as
 * the dashboard's own are: only the space between a digit and "%" or "points" changes, the words stay the server's.
 */
export const unitsJoined = (text: string): string => text.replace(/(\d) (%|points\b)/gu, `$1${UNIT_SPACE}$2`);

/** A figure already in percent, with its unit: "50 %", "99.8 %". */
export const percent = (figure: number | string): string => `${figure}${UNIT_SPACE}%`;

/** A figure already in percentage points, with its unit: "2.0 points", "+5.0 points". */
export const inPoints = (figure: number | string): string => `${figure}${UNIT_SPACE}points`;

/** "22.0 %" */
export const pct = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v) ? "–" : percent((v * 100).toFixed(digits));

/**
 * A figure with exactly `digits` decimals, as the alert sentences write evidence and percentage points ("575.8",
 * "-1.0"; a value that rounds to zero without its sign); "–" for none.
 */
export const fixed = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v) ? "–" : (Number(v.toFixed(digits)) === 0 ? 0 : v).toFixed(digits);

/** A share as pct() shows it (to a tenth of a percent): differences of shown figures are taken between these. */
export const asShown = (v: number): number => Number((v * 100).toFixed(1)) / 100;

/** A difference of shares in percentage points, signed, to one decimal as the alert sentences write it ("+38.0 points"). */
export const points = (x: number): string => inPoints(`${Number((x * 100).toFixed(1)) > 0 ? "+" : ""}${fixed(x * 100, 1)}`);

/** A count with thousands separators, as the server's sentences write it ("12,483"): the same formatter. */
export const count = countText;

/** A count with its noun, singular for one ("1 batch", "1,200 batches"); `many` where adding "s" is not the plural. */
export const counted = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;

/** Thresholds and scores with up to 4 decimals, trailing zeros dropped. */
export const num = (v: number | null | undefined, digits = 4): string =>
  v === null || v === undefined || !Number.isFinite(v) ? "–" : String(Number(v.toFixed(digits)));
