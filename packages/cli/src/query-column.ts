/**
 * A column that looks like it groups the rows into queries when no query column was named or recognised: uploading
 * such a file flat would drop the per-query statistics (the intervals would assume independent candidates and be too
 * narrow), so the CLI refuses it and asks for --query-column or --no-query-column.
 *
 * A column is suspect when its name ends like a query or group id (`question_id`, `qid`, `topic_group`, ...; not a
 * candidate's own id such as `doc_id` or `pid`) and a value occurs twice, or when, whatever its name, its values come in
 * runs of consecutive rows that never come back once their run ends (how a file sorted by query reads), with at least
 * QUERY_RUN_MIN_VALUES distinct values (fewer looks like a split or a label, not queries).
 */

/** Data rows looked at: enough for many queries of any file, and bounded memory (a Set of at most this many values). */
export const QUERY_SNIFF_ROWS = 10_000;
/** Fewest distinct values of a column whose runs alone make it suspect. */
export const QUERY_RUN_MIN_VALUES = 3;

const QUERYISH_NAME = /(?:id|query|qid|group)$/iu;
/** Names of a candidate's own id, once the id suffix is cut: one value per candidate, not per query. */
const CANDIDATE_STEMS = new Set([
  "doc",
  "document",
  "passage",
  "p",
  "chunk",
  "candidate",
  "node",
  "item",
  "hit",
  "result",
  "para",
  "paragraph",
  "sentence",
  "page",
  "span",
  "row",
  "corpus",
  "uu",
  "gu",
]);
const looksQueryish = (name: string): boolean => QUERYISH_NAME.test(name) && !CANDIDATE_STEMS.has(name.toLowerCase().replace(/[\W_]*id$/u, ""));

interface Column {
  readonly name: string;
  readonly index: number;
  readonly seen: Set<string>;
  last: string | undefined;
  /** A value occurred twice. */
  repeated: boolean;
  /** Two consecutive rows shared a value. */
  run: boolean;
  /** A value came back after its run ended. */
  recurred: boolean;
}

export class QueryColumnSniffer {
  readonly #columns: Column[];
  readonly #named: boolean;
  #rows = 0;

  /**
   * `names`: the header (or JSON keys), or null for a file without one (its columns are named by 1-based position and
   * only their runs count); `skip`: the score column's index.
   */
  constructor(names: readonly string[] | null, width: number, skip: number) {
    this.#named = names !== null;
    this.#columns = Array.from({ length: width }, (_, i) => i)
      .filter((i) => i !== skip)
      .map((i) => ({ name: names?.[i] ?? String(i + 1), index: i, seen: new Set(), last: undefined, repeated: false, run: false, recurred: false }));
  }

  /** Whether rows are still looked at (QUERY_SNIFF_ROWS of them are). */
  get sniffing(): boolean {
    return this.#rows < QUERY_SNIFF_ROWS;
  }

  /** One data row's values (by column index; undefined where it has none). */
  observe(values: readonly (string | undefined)[]): void {
    if (this.#rows++ >= QUERY_SNIFF_ROWS) return;
    for (const c of this.#columns) {
      const v = values[c.index];
      if (v === undefined || v === "") continue;
      if (v === c.last) {
        c.run = true;
        c.repeated = true;
        continue;
      }
      if (c.seen.has(v)) {
        c.recurred = true;
        c.repeated = true;
      } else c.seen.add(v);
      c.last = v;
    }
  }

  /** The first suspect column's name (or 1-based position), or null. */
  suspect(): string | null {
    const found = this.#columns.find(
      // a column of fewer distinct values (one model_id, run_id or tenant for the whole file) is metadata, not queries
      (c) => c.seen.size >= QUERY_RUN_MIN_VALUES && ((this.#named && looksQueryish(c.name) && c.repeated) || (c.run && !c.recurred)),
    );
    return found?.name ?? null;
  }
}
