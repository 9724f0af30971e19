/**
 * Numbers in messages people read (errors, warnings): a rate as a percent with a few significant digits, never the
 * 16 digits of a computed float ("32.26 %", not "0.3225806451612903"). The exact value stays in the response's fields.
 */

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
