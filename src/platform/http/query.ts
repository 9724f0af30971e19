/**
 * Query parameters are checked strictly, once for every route (handle.ts, from the route table's query schemas): an
 * unknown name (a typo such as `index_verison` would otherwise be ignored and the current threshold served) or a
 * repeated one (first-wins in one place, last-wins in another) is a 400 that names it, with a "did you mean".
 */
import { AppError } from "../errors";

/** Levenshtein distance, for "did you mean" on parameter names (names are short: O(n·m) is nothing). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The accepted name closest to `name`, if it is a plausible typo of it. */
export function nearest(name: string, accepted: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const a of accepted) {
    const d = editDistance(name.toLowerCase(), a);
    if (d < bestD) [best, bestD] = [a, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/**
 * 400 for malformed percent-encoding, and for unknown or repeated query parameters. `accepted` is the route's query schema's names (none when it has no
 * query schema).
 */
export function checkQueryNames(url: string, accepted: readonly string[]): void {
  const parsed = new URL(url);
  checkEncoding(parsed.search);
  const seen = new Map<string, number>();
  for (const [name] of parsed.searchParams) seen.set(name, (seen.get(name) ?? 0) + 1);
  const repeated = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  const unknown = [...seen.keys()].filter((k) => !accepted.includes(k));
  if (unknown.length === 0 && repeated.length === 0) return;
  const details = [
    ...unknown.map((k) => {
      const guess = nearest(k, accepted);
      return { path: k, message: `unknown query parameter${guess === null ? "" : ` (did you mean ${guess}?)`}` };
    }),
    ...repeated.map((k) => ({ path: k, message: "given more than once: give each parameter once" })),
  ];
  const parts = [
    unknown.length > 0 ? `unknown query parameter(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")}` : "",
    repeated.length > 0 ? `repeated query parameter(s) ${repeated.map((k) => JSON.stringify(k)).join(", ")}` : "",
  ].filter((p) => p !== "");
  const hint = accepted.length === 0 ? "this endpoint takes no query parameters" : `accepted: ${accepted.join(", ")}`;
  throw new AppError("bad_request", `${parts.join("; ")} (${hint})`, details);
}

/**
 * 400 for a name or value that is not valid percent-encoding (`%ZZ`, or escapes that are not UTF-8): the URL parsers
 * disagree on those (Hono's query() keeps them raw, URLSearchParams puts U+FFFD in their place), so one request could
 * name two different gates, neither the one the caller meant.
 */
function checkEncoding(search: string): void {
  if (!search.includes("%")) return;
  for (const part of search.slice(1).split("&")) {
    try {
      decodeURIComponent(part.replaceAll("+", " "));
    } catch {
      const [name = ""] = part.split("=", 1);
      let shown = name;
      try {
        shown = decodeURIComponent(name.replaceAll("+", " "));
      } catch {
        // the name itself is the malformed part: shown as sent
      }
      throw new AppError(
        "bad_request",
        `query parameter ${JSON.stringify(shown)} is not valid percent-encoding (${JSON.stringify(part)}): escape a literal % as %25`,
        [{ path: shown, message: "malformed percent-encoding" }],
      );
    }
  }
}
