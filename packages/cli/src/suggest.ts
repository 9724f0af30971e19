/**
 * "Did you mean": the known name closest to a mistyped command, flag or value. The distance is leven's Levenshtein
 * distance (a maintained, dependency-free 4 KB package), after folding case and `_` to `-`, so `--Index_Version`
 * finds `--index-version` at distance 0.
 */
import leven, { closestMatch } from "leven";

/** The most edits a suggestion may be away from what was typed (commander suggests within 2 as well). */
export const MAX_SUGGESTION_DISTANCE = 2;
/** Shorter input than this gets no prefix suggestion: `--t` could mean too many flags. */
const MIN_PREFIX = 3;

const fold = (s: string): string => s.toLowerCase().replaceAll("_", "-");

/**
 * The known name closest to `input`: within MAX_SUGGESTION_DISTANCE edits (and fewer edits than the name has
 * characters, so a one-letter typo is not "corrected" into another word), else the one name it is a prefix of
 * (`--embed` -> `embedding`). Undefined when nothing is close.
 */
export function suggest(input: string, known: readonly string[]): string | undefined {
  const typed = fold(input);
  if (typed === "") return undefined;
  const folded = known.map(fold);
  const maxDistance = Math.min(MAX_SUGGESTION_DISTANCE, typed.length - 1);
  const close = maxDistance > 0 || folded.includes(typed) ? closestMatch(typed, folded, { maxDistance: Math.max(0, maxDistance) }) : undefined;
  if (close !== undefined) return known[folded.indexOf(close)];
  if (typed.length < MIN_PREFIX) return undefined;
  const prefixed = known.filter((_, i) => folded[i]!.startsWith(typed));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** `known`, the closest to `input` first (the same distance as suggest's; ties keep their order). */
export function byCloseness(input: string, known: readonly string[]): string[] {
  const typed = fold(input);
  const distance = new Map(known.map((k) => [k, leven(typed, fold(k))]));
  return [...known].sort((a, b) => distance.get(a)! - distance.get(b)!);
}

/** ": did you mean X?" to end a message with, or "" when nothing is close. */
export function didYouMean(input: string, known: readonly string[], show: (name: string) => string = (n) => n): string {
  const s = suggest(input, known);
  return s === undefined ? "" : `: did you mean ${show(s)}?`;
}

/** A flag value as a shell word: quoted only when it holds something a shell would split or expand. */
export const shellWord = (s: string): string => (/^[\w./:@%+=-]+$/u.test(s) ? s : JSON.stringify(s));

/** A gate as the flags that name it, for a command line to copy: `--index docs --embedding e5 --reranker bge`. */
export const gateFlagWords = (g: { readonly index: string; readonly embedding: string; readonly reranker: string }): string =>
  ["--index", g.index, "--embedding", g.embedding, "--reranker", g.reranker].map(shellWord).join(" ");

/**
 * The gates (or index versions) a server's answer suggests, as the CLI flags that name them, one per line: the server
 * sends them as `{index, embedding, reranker, index_version?}` objects (an uncalibrated 404's `details.suggestions`),
 * and a person at a terminal never sees `details`. Entries of another shape are shown as they came.
 */
export function gateSuggestionLines(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((s: unknown) => {
    if (typeof s !== "object" || s === null) return String(s);
    const g = s as Record<string, unknown>;
    const flags = (["index", "embedding", "reranker", "index_version"] as const)
      .filter((k) => typeof g[k] === "string")
      .map((k) => `--${k.replace("_", "-")} ${shellWord(g[k] as string)}`);
    return flags.length > 0 ? flags.join(" ") : JSON.stringify(s);
  });
}
