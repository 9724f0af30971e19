/**
 * Every number the CLI prints for a person goes through these helpers, so one value reads the same in every command:
 * rates as percentages with one decimal, differences of rates in points with a sign, thresholds and scores with four
 * significant digits, counts with thousands separators. `--json` never passes through here: it carries the server's
 * exact values.
 */

/** Decimals of a percentage ("22.0 %") and of a difference in points ("+37.0"). */
export const PERCENT_DECIMALS = 1;
/** Significant digits of a threshold or a score ("0.3414"). */
export const THRESHOLD_DIGITS = 4;
/** A decimal in server-written text with more significant digits than this is a raw float: `prose` shortens it. */
export const RAW_FLOAT_DIGITS = 6;

/**
 * A rate in [0, 1] as a percentage: "22.0 %". A rate that is not exactly 0 or 1 never prints as "0.0 %" or
 * "100.0 %" (it gets two significant digits of its distance from the end instead: "0.012 %", "99.996 %"), so a
 * drop rate that is tiny but not zero still shows. null or undefined: "n/a".
 */
export function percent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "n/a";
  const p = 100 * rate;
  let s = p.toFixed(PERCENT_DECIMALS);
  if (Number(s) === 0 && p !== 0) s = String(Number(p.toPrecision(2)));
  else if (Number(s) === 100 && p !== 100) s = String(100 - Number((100 - p).toPrecision(2)));
  return `${s} %`;
}

/** A difference already in points (percentage points), signed: "+37.0", "-2.5", "0.0". */
export function points(p: number): string {
  const s = p.toFixed(PERCENT_DECIMALS);
  if (Number(s) === 0) return (0).toFixed(PERCENT_DECIMALS);
  return p > 0 ? `+${s}` : s;
}

/**
 * An interval of rate differences (the contract's `change_interval_95`, in rate units: 0.37 = 37 points) in points:
 * "+31.2 to +42.8".
 */
export function pointInterval(rates: readonly [number, number]): string {
  return `${points(100 * rates[0])} to ${points(100 * rates[1])}`;
}

/** A tolerance or another rate-unit width in points, unsigned: 0.02 -> "2.0". */
export function pointWidth(rate: number): string {
  return (100 * rate).toFixed(PERCENT_DECIMALS);
}

/**
 * A threshold or a score with THRESHOLD_DIGITS significant digits ("0.3414", "12.35", "-1.5"); from 10,000 on, the
 * whole integer part ("12346"). null or undefined: `none`.
 */
export function num(x: number | null | undefined, none = "none"): string {
  if (x === null || x === undefined) return none;
  if (Math.abs(x) >= 10_000) return x.toFixed(0);
  return String(Number(x.toPrecision(THRESHOLD_DIGITS)));
}

/** Decimals of a highest reachable target ("0.9476"), as a flag like --recall takes it. */
export const TARGET_DECIMALS = 4;

/**
 * A highest reachable target (the server's `highest_target`) with TARGET_DECIMALS decimals, rounded down: rounded up,
 * the number shown could lie just past what is reachable, and passing it back would be refused.
 */
export function reachableTarget(x: number): string {
  // the nudge keeps a value that is a TARGET_DECIMALS decimal up to float error (1 - 4/5 = 0.19999999999999996)
  return String(Math.floor(x * 10 ** TARGET_DECIMALS + 1e-6) / 10 ** TARGET_DECIMALS);
}

/** A count with thousands separators: "1,000,000". */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** A statistic at a fixed number of decimals (z, KS, PSI, a design effect, a mean per query). */
export function fixed(x: number, decimals: number): string {
  return x.toFixed(decimals);
}

/** Below this a p-value is printed as a bound: two digits of 1e-12 (or of a 0 that underflowed) say nothing more. */
export const SMALLEST_P_SHOWN = 0.001;

/** A p-value as its comparison, with two significant digits: "p = 0.53", "p = 0.0012", "p < 0.001" (never "p = 0.0"). */
export function pValue(p: number): string {
  return p < SMALLEST_P_SHOWN ? `p < ${SMALLEST_P_SHOWN}` : `p = ${p.toPrecision(2)}`;
}

/**
 * A size in bytes, KiB or MiB (binary units, as the README states the server's limits) with one decimal, none when it
 * is a whole number of them: "312 bytes", "4.2 KiB", "18.4 MiB", "24 MiB".
 */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, "KiB"] : [bytes / 1024 / 1024, "MiB"];
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
}

// a decimal with a point, not part of a word, a version ("1.2.3") or an id
const DECIMAL = /(?<![\w.])-?\d+\.\d+(?:[eE][-+]?\d+)?(?![\w.])/gu;

/**
 * Server-written text (a shift report's `reason`, warnings, alert summaries) with every raw float shortened as `num`
 * prints it: "at target 0.3225806451612903" reads "at target 0.3226". Decimals with at most RAW_FLOAT_DIGITS
 * significant digits were written for people and are left alone, and so is everything that is not a decimal.
 */
export function prose(text: string): string {
  return text.replace(DECIMAL, (m) => {
    const mantissa = m
      .replace(/[eE].*$/u, "")
      .replace(/[-.]/gu, "")
      .replace(/^0+/u, "");
    return mantissa.length > RAW_FLOAT_DIGITS ? num(Number(m)) : m;
  });
}
