/**
 * The layout of a score file before its rows are read: its format (from the file name, else from the first line),
 * which column a flag names (by header name, or by 1-based position), the column names recognised without a flag, and
 * the refusal of a per-row column in a layout that has none.
 */
import { DELIMITERS, isDecimalComma, parseNumber } from "./delimiter";
import { InputError } from "./input-error";

export type Format = "csv" | "tsv" | "jsonl" | "text";
export const FORMATS: readonly Format[] = ["csv", "tsv", "jsonl", "text"];

/** Column names recognised without --score-column / --query-column (reranker and eval tooling spell them so). */
export const SCORE_NAMES = ["score", "relevance_score", "relevancescore", "rerank_score", "reranker_score"];
export const QUERY_NAMES = ["query_id", "qid", "query"];
/** The other way out of a choice of query column (knownColumn's `orFlat`). */
export const NO_QUERY_COLUMN = ", or --no-query-column to upload the scores as one flat list";

/**
 * The format a file name says, or undefined (then the first line decides: sniffFormat). `.txt` says "text", which the
 * first line may still turn into a delimited file (txtFormat).
 */
export function formatFromName(file: string): Format | undefined {
  const lower = file.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".tsv") || lower.endsWith(".tab")) return "tsv";
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  if (lower.endsWith(".txt")) return "text";
  return undefined;
}

/** The format of a file from its first non-blank line. */
export function sniffFormat(line: string): Format {
  const c = line[0];
  if (c === "{" || c === "[") return "jsonl";
  if (line.includes("\t")) return "tsv";
  if (line.includes(",")) return "csv";
  // one field: a number is a plain score file, a word is the header of a one-column CSV
  return parseNumber(line) === null ? "csv" : "text";
}

/**
 * The format of a `.txt` file (by its name, not --format) from its first non-blank line: a plain score file when that
 * line is a number (also one with a decimal comma, which the text reader names), JSON, or when no known separator
 * splits it; else a delimited file whose separator is detected (Excel's "Text (Tab delimited) (*.txt)" export: a header
 * `qid<TAB>doc<TAB>score`, then tab-separated rows).
 */
export function txtFormat(line: string): Format {
  if (parseNumber(line) !== null || isDecimalComma(line) || line[0] === "{" || line[0] === "[") return "text";
  // Excel's `sep=;` first line (`sep=` and a tab arrives trimmed to `sep=`) names the separator of a delimited file
  if (/^sep=.?$/iu.test(line)) return "csv";
  return DELIMITERS.some((d) => line.includes(d)) ? "csv" : "text";
}

/** The 0-based positions of the names `match` accepts, in header order. */
const positions = (names: readonly string[], match: (name: string) => boolean): number[] => names.flatMap((name, i) => (match(name) ? [i] : []));

/** Columns for a message: `"score" (column 3), "rerank_score" (column 4)`. */
const columnList = (names: readonly string[], at: readonly number[]): string =>
  at.map((i) => `${JSON.stringify(names[i])} (column ${i + 1})`).join(", ");

/**
 * Resolves a column given by name (header; exact, else case-insensitive) or 1-based position. A name the header holds
 * more than once is refused: which of the columns is meant cannot be told, so its position must be given.
 */
export function columnIndex(spec: string, header: readonly string[] | null, what: string, flag: string): number {
  if (header) {
    const exact = positions(header, (h) => h === spec);
    const found = exact.length > 0 ? exact : positions(header, (h) => h.toLowerCase() === spec.toLowerCase());
    if (found.length > 1)
      throw new InputError(
        `${flag} ${JSON.stringify(spec)} is ambiguous: the header has ${found.length} columns of that name, ${columnList(header, found)}: rename them, or pass the position of the ${what} column (${flag} ${found[0]! + 1})`,
      );
    if (found.length === 1) return found[0]!;
  }
  if (/^[1-9]\d*$/u.test(spec)) return Number(spec) - 1;
  throw new InputError(
    header
      ? `there is no ${what} column ${JSON.stringify(spec)}: the header has ${header.map((h) => JSON.stringify(h)).join(", ")}; pass one of them to ${flag}`
      : `${flag} ${JSON.stringify(spec)} names a column, but the file has no header row: give the column's position (1 = first)`,
  );
}

/**
 * The column that `names` (a CSV header or a JSONL object's keys) holds under one of `known` (SCORE_NAMES,
 * QUERY_NAMES, in any case), when no flag names it: its position, or -1 for none. Several such score columns (a
 * retriever's `score` beside the reranker's `rerank_score`) are refused: taking the first would calibrate on whichever
 * came first, silently. Several query columns of different names are one query's id and its text (`query_id` beside
 * `query`): they group the same candidates, the id also when two queries share a text, so the first name of `known`
 * is read (the CLI's read line names it). One name twice is refused for either. `what` is "score" or "query", `flag`
 * the flag that chooses, `orFlat` what else may be passed (the query column's --no-query-column), `unit` "column" or
 * "field".
 */
export function knownColumn(
  names: readonly string[],
  known: readonly string[],
  what: string,
  flag: string,
  unit: "column" | "field",
  orFlat = "",
): number {
  const found = positions(names, (n) => known.includes(n.toLowerCase()));
  if (found.length <= 1) return found[0] ?? -1;
  const distinct = new Set(found.map((i) => names[i]!.toLowerCase())).size === found.length;
  const rank = (i: number): number => known.indexOf(names[i]!.toLowerCase());
  if (distinct && what === "query") return found.reduce((best, i) => (rank(i) < rank(best) ? i : best));
  const listed = unit === "column" ? columnList(names, found) : found.map((i) => JSON.stringify(names[i])).join(", ");
  // JSONL keys are case-sensitive and unique per object (JSON.parse keeps the last of a repeated one): a key differing
  // in case only ("score" beside "Score") is chosen by its exact name; columns of one name, by position
  const choose =
    distinct || unit === "field"
      ? `pass ${flag} NAME with the one to read${distinct ? "" : " (exactly as written: the names differ in case only)"}`
      : `a name given twice cannot be chosen by name: rename the columns, or pass ${flag} N with the position of the one to read (1 = first column)`;
  throw new InputError(`several ${what} ${unit}s: ${listed}; which holds the ${what === "score" ? "scores" : "queries"}? ${choose}${orFlat}`);
}

/**
 * The flag that names a per-row column (--label-column, else --answerable-column), or null: such a column exists only
 * in a CSV/TSV file or in JSONL objects, which other layouts lack (noPerRowColumn).
 */
export const perRowFlag = (opts: { labelColumn?: string | undefined; answerableColumn?: string | undefined }): string | null =>
  opts.labelColumn !== undefined ? "--label-column" : opts.answerableColumn !== undefined ? "--answerable-column" : null;

/** The refusal of `flag` (perRowFlag) for a file that has no per-row columns, `what` saying which kind of file. */
export const noPerRowColumn = (flag: string, what: string): InputError =>
  new InputError(
    `${flag} reads a column of a CSV/TSV file or a field of JSONL objects (one candidate per line), and ${what} has none: write one row per candidate with its ${flag === "--label-column" ? "label" : "flag"}`,
  );
