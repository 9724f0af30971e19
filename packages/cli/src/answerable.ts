/**
 * The per-query answerable flag of `--answerable-column`: read from each candidate row (a CSV/TSV column or a JSONL
 * field), it belongs to the query, so every row of a query must say the same. The upload sends one flag per query
 * (the `answerable` field of each NDJSON query line, beside its labels when there are any), which false abstention
 * (`--abstain-alpha`) is measured on.
 */

/** The words a flag may be written with (case-insensitive, surrounding spaces ignored). */
export const ANSWERABLE_TRUE = ["true", "1", "yes"] as const;
export const ANSWERABLE_FALSE = ["false", "0", "no"] as const;

/** How the accepted values read in a message. */
export const ANSWERABLE_VALUES = "true/false, 1/0 or yes/no";

/**
 * A row's flag: JSON true/false, the numbers 1/0, or a string of ANSWERABLE_TRUE / ANSWERABLE_FALSE in any case;
 * null for anything else (the caller names the row).
 */
export function parseAnswerable(raw: unknown): boolean | null {
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "number") return raw === 1 ? true : raw === 0 ? false : null;
  if (typeof raw !== "string") return null;
  const word = raw.trim().toLowerCase();
  if ((ANSWERABLE_TRUE as readonly string[]).includes(word)) return true;
  if ((ANSWERABLE_FALSE as readonly string[]).includes(word)) return false;
  return null;
}

/** A value as a message quotes it: strings as written, anything else as JSON ("missing" when absent). */
export const answerableText = (raw: unknown): string => (raw === undefined ? "missing" : JSON.stringify(raw));

/**
 * The flags of the queries as their rows arrive: the first row of a query sets its flag, and a later row that says
 * otherwise is refused naming the query and the line that set it. Queries are numbered in order of first appearance
 * (score-sink.ts), which is the order of the upload's queries.
 */
export class AnswerableFlags {
  readonly #flags: (boolean | undefined)[] = [];
  readonly #lines: number[] = [];

  /** Records `flag` for query number `query` (called `key` in the file); a message when an earlier row disagrees. */
  observe(query: number, key: string, flag: boolean, line: number): string | null {
    const known = this.#flags[query];
    if (known === undefined) {
      this.#flags[query] = flag;
      this.#lines[query] = line;
      return null;
    }
    if (known === flag) return null;
    return `query ${JSON.stringify(key)} is ${flag ? "answerable" : "not answerable"} here and ${known ? "answerable" : "not answerable"} on line ${this.#lines[query]}: the flag is the query's, so every row of a query must give the same`;
  }

  /** One flag per query, in query order, for `queries` queries (every query has rows, so each has a flag). */
  done(queries: number): boolean[] {
    return Array.from({ length: queries }, (_, q) => {
      const f = this.#flags[q];
      if (f === undefined) throw new RangeError(`AnswerableFlags: query ${q} has no flag`);
      return f;
    });
  }
}
