/**
 * The layout of a score file before its rows are read: its format (from the file name, else from the first line),
 * which column a flag names (by header name, or by 1-based position), the column names recognised without a flag, and
 * the refusal of a per-row column in a layout that has none.
 */
import { parseNumber } from "./delimiter";
import { InputError } from "./input-error";

export type Format = "csv" | "tsv" | "jsonl" | "text";
export const FORMATS: readonly Format[] = ["csv", "tsv", "jsonl", "text"];

/** Column names recognised without --score-column / --query-column (reranker and eval tooling spell them so). */
export const SCORE_NAMES = ["score", "relevance_score", "relevancescore", "rerank_score", "reranker_score"];
export const QUERY_NAMES = ["query_id", "qid", "query"];

/** The format a file name says, or undefined (then the first line decides: sniffFormat). */
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

/** Resolves a column given by name (header; exact, else case-insensitive) or 1-based position. */
export function columnIndex(spec: string, header: readonly string[] | null, what: string, flag: string): number {
  if (header) {
    const i = header.indexOf(spec);
    if (i >= 0) return i;
    const ci = header.findIndex((h) => h.toLowerCase() === spec.toLowerCase());
    if (ci >= 0) return ci;
  }
  if (/^[1-9]\d*$/u.test(spec)) return Number(spec) - 1;
  throw new InputError(
    header
      ? `there is no ${what} column ${JSON.stringify(spec)}: the header has ${header.map((h) => JSON.stringify(h)).join(", ")}; pass one of them to ${flag}`
      : `${flag} ${JSON.stringify(spec)} names a column, but the file has no header row: give the column's position (1 = first)`,
  );
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
