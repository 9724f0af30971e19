/**
 * A JSON Schema `pattern` for the decimal digits of the whole numbers from `min` (0 or 1) to `max`, written without
 * leading zeros: the exact set a query parameter checked by a digits regex and a bound accepts (`limit`, `after`), so
 * the OpenAPI document says "at most 200" in a form a validator applies to the string a client sends (`maximum`
 * applies to numbers only, and a query value is a string).
 *
 * For max = 200: `^(?:0|[1-9][0-9]?|1[0-9]{2}|200)$` without the `0|` when min is 1. Cost: O(digits of max).
 *
 * Written here rather than taken from `to-regex-range`: that package's last release is from 2019, and the contract
 * travels into every client, where a dependency for two call sites with a lower bound of 0 or 1 does not earn its place.
 */
export function wholeNumberPattern(min: 0 | 1, max: number): string {
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`wholeNumberPattern: max must be a positive safe integer, got ${max}`);
  const s = String(max);
  const d = s.length;
  const digits = (n: number) => (n === 0 ? "" : n === 1 ? "[0-9]" : `[0-9]{${n}}`);
  const range = (lo: number, hi: number) => (lo === hi ? String(lo) : `[${lo}-${hi}]`);
  // every number with fewer digits than max, then those with as many: max's first i digits, a smaller digit, any rest
  const parts: string[] = min === 0 ? ["0"] : [];
  if (d === 2) parts.push("[1-9]");
  if (d > 2) parts.push(`[1-9][0-9]{0,${d - 2}}`);
  for (let i = 0; i < d; i++) {
    const lo = i === 0 ? 1 : 0;
    const c = Number(s[i]);
    if (c - 1 >= lo) parts.push(`${s.slice(0, i)}${range(lo, c - 1)}${digits(d - i - 1)}`);
  }
  parts.push(s);
  return `^(?:${parts.join("|")})$`;
}
