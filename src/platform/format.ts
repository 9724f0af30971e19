/**
 * Numbers in messages people read (errors, warnings): a rate as a percent with a few significant digits, never the
 * 16 digits of a computed float ("32.26 %", not "0.3225806451612903"). The exact value stays in the response's fields.
 */
import { MAX_MORE_DATA_FACTOR_SHOWN } from "../contract/limits";

/**
 * `x` (a rate in [0, 1]) as a percent with 4 significant digits, trailing zeros dropped ("22 %", "32.26 %", "0.01 %"),
 * with more digits where 4 would print 0 % or 100 % for a rate that is neither.
 */
export function percentText(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const v = 100 * x;
  let shown = Number(v.toPrecision(4));
  for (let digits = 5; digits <= 15 && ((shown === 100) !== (v === 100) || (shown === 0) !== (v === 0)); digits++) {
    shown = Number(v.toPrecision(digits));
  }
  return `${shown} %`;
}

/**
 * `x` (a rate) as a percent with one decimal ("22.0 %", "56.9 %"): how alarm sentences, alert summaries and the rebuild
 * decision's reason write rates, so the figures of one sentence, and of sentences read side by side, read alike.
 */
export const percentTenths = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** The most of an id a message repeats: a path's id is the caller's text, up to the URL's length (kilobytes). */
export const MAX_SHOWN_ID_CHARACTERS = 200;

/** An id as a message repeats it: whole up to MAX_SHOWN_ID_CHARACTERS, else its start and "…". */
export const shownId = (id: string): string =>
  id.length > MAX_SHOWN_ID_CHARACTERS ? `${id.slice(0, MAX_SHOWN_ID_CHARACTERS)}… (${countText(id.length)} characters)` : id;

/** A count in a sentence, with thousands separators ("12,483 queries"): the exact value stays in the response's fields. */
export const countText = (n: number | bigint): string => n.toLocaleString("en-US");

/**
 * A threshold or other score in a sentence: 6 significant digits ("0.249957", "0.4"), the exact value staying in the
 * response's fields.
 */
export function numberText(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x);
}

/**
 * How many times as many queries would settle an inconclusive decision, as a sentence's tail: "about 297 times as many
 * queries on each side would settle it", or, when the estimate sits so near the tolerance that the factor is huge
 * (1e32 when it is on it), that no practical amount of data would.
 */
export function moreDataText(factor: number): string {
  return factor <= MAX_MORE_DATA_FACTOR_SHOWN
    ? `about ${Math.ceil(factor)} times as many queries on each side would settle it`
    : `the estimate sits on the tolerance's edge, where more than ${countText(MAX_MORE_DATA_FACTOR_SHOWN)} times as many queries on each side would be needed to settle it`;
}
