/**
 * The columns of a CSV/TSV file, resolved from its first row and the options: whether that row is a header, and which
 * columns hold the score, the query, the label and the answerable flag. Pure: it throws InputError for a layout it
 * cannot read (no score column named or recognised, several recognised, a column that does not exist, two roles on one
 * column).
 */
import { type Delimiter, isDecimalComma, parseNumber, splitFields } from "./delimiter";
import { columnIndex, knownColumn, NO_QUERY_COLUMN, QUERY_NAMES, SCORE_NAMES } from "./file-layout";
import { InputError } from "./input-error";
import type { ReadOptions } from "./score-file";

export interface CsvLayout {
  /** The first row's fields, trimmed, when it is a header; else null. */
  readonly header: string[] | null;
  /** Fields of the first row: every row must have as many. */
  readonly width: number;
  readonly scoreIdx: number;
  /** -1: none (flat scores, or a query column to be sniffed for). */
  readonly queryIdx: number;
  /** -1: labels are not read. */
  readonly labelIdx: number;
  /** -1: answerable flags are not read. */
  readonly answerableIdx: number;
}

type ColumnOptions = Pick<ReadOptions, "scoreColumn" | "queryColumn" | "labelColumn" | "answerableColumn">;

/** The layout from the first non-blank line `line` (line number `no`) split at `delimiter`. */
export function csvLayout(line: string, no: number, delimiter: Delimiter, decimalComma: boolean, opts: ColumnOptions): CsvLayout {
  const field = (s: string): number | null => parseNumber(s, decimalComma);
  const fields = splitFields(line, delimiter) ?? [line];
  const trimmed = fields.map((f) => f.trim());
  // a header row has no number in it (data rows have at least the score); with a positional --score-column, the
  // first row is a header when that field is not a number
  const positional = opts.scoreColumn !== undefined && /^[1-9]\d*$/u.test(opts.scoreColumn);
  const isHeader =
    opts.scoreColumn !== undefined && !positional
      ? true
      : positional
        ? field(trimmed[Number(opts.scoreColumn) - 1] ?? "") === null
        : trimmed.every((f) => field(f) === null);
  const width = trimmed.length;
  const header = isHeader ? trimmed : null;
  let scoreIdx: number;
  if (opts.scoreColumn !== undefined) {
    scoreIdx = columnIndex(opts.scoreColumn, header, "score", "--score-column");
  } else if (header) {
    scoreIdx = knownColumn(header, SCORE_NAMES, "score", "--score-column", "column");
    if (scoreIdx < 0) {
      if (header.length === 1) scoreIdx = 0;
      else
        throw new InputError(
          `which column holds the scores? the header has ${header.map((x) => JSON.stringify(x)).join(", ")}, none named "score": pass --score-column NAME`,
        );
    }
  } else if (width === 1) {
    scoreIdx = 0;
  } else if (width === 2 && opts.queryColumn === undefined) {
    // "0,42" on every line reads as two columns of digits when the comma is taken for the separator
    const oneScore =
      delimiter === "," && isDecimalComma(line)
        ? `; if each line is one score with a decimal comma (${line.trim()}), add a header line "score" or pass --delimiter semicolon, and the comma is read as the decimal mark`
        : "";
    throw new InputError(`the CSV has two columns and no header row: pass --score-column N and --query-column N (1 = first column)${oneScore}`);
  } else if (opts.queryColumn === undefined) {
    throw new InputError(`the CSV has ${width} columns and no header row: pass --score-column N (1 = first column)`);
  } else {
    throw new InputError("the CSV has no header row: pass --score-column N (1 = first column)");
  }
  let queryIdx = -1;
  if (opts.queryColumn !== undefined && opts.queryColumn !== "") {
    queryIdx = columnIndex(opts.queryColumn, header, "query", "--query-column");
  } else if (opts.queryColumn === undefined && header) {
    queryIdx = knownColumn(header, QUERY_NAMES, "query", "--query-column", "column", NO_QUERY_COLUMN);
  }
  if (scoreIdx >= width || queryIdx >= width)
    throw new InputError(`column ${Math.max(scoreIdx, queryIdx) + 1} does not exist: line ${no} has ${width} fields`);
  if (queryIdx === scoreIdx) throw new InputError("the score column and the query column are the same column");
  let labelIdx = -1;
  if (opts.labelColumn !== undefined) {
    labelIdx = columnIndex(opts.labelColumn, header, "label", "--label-column");
    if (labelIdx >= width) throw new InputError(`column ${labelIdx + 1} does not exist: line ${no} has ${width} fields`);
    if (labelIdx === scoreIdx || labelIdx === queryIdx)
      throw new InputError(`the label column is the same column as the ${labelIdx === scoreIdx ? "score" : "query"} column`);
  }
  let answerableIdx = -1;
  if (opts.answerableColumn !== undefined) {
    answerableIdx = columnIndex(opts.answerableColumn, header, "answerable", "--answerable-column");
    if (answerableIdx >= width) throw new InputError(`column ${answerableIdx + 1} does not exist: line ${no} has ${width} fields`);
    const same = [scoreIdx, queryIdx, labelIdx].indexOf(answerableIdx);
    if (same >= 0) throw new InputError(`the answerable column is the same column as the ${["score", "query", "label"][same]} column`);
  }
  return { header, width, scoreIdx, queryIdx, labelIdx, answerableIdx };
}
