/**
 * What the score-file reader (read-scores.ts) takes and what it gives back: the options naming the file's layout, and
 * the scores read, grouped by query when the file has queries.
 */
import type { Delimiter } from "./delimiter";
import type { Format } from "./file-layout";

export interface ReadOptions {
  format?: Format | undefined;
  /** Name of the score column (CSV with a header, JSONL objects), or its 1-based position (CSV without a header). */
  scoreColumn?: string | undefined;
  /**
   * Name (or 1-based position) of the column that groups rows into queries; "" reads the scores flat (no detection,
   * and no refusal of a column that looks like a query id).
   */
  queryColumn?: string | undefined;
  /**
   * Name (or 1-based position) of the column holding each candidate's relevance label (CSV/TSV), or the field of
   * JSONL objects; read only when given. Labels are finite numbers (0/1, or graded with the upload's relevant_at).
   */
  labelColumn?: string | undefined;
  /**
   * Name (or 1-based position) of the column, or the JSONL field, holding each row's query-level answerable flag
   * (answerable.ts: true/false, 1/0, yes/no); read only when given, and only for rows grouped into queries.
   */
  answerableColumn?: string | undefined;
  /** The field separator of a CSV/TSV file; detected from the first lines when not given (tab with format "tsv"). */
  delimiter?: Delimiter | undefined;
  /** Called now and then with the bytes read so far (for the progress bar). */
  onProgress?: ((bytesRead: number) => void) | undefined;
}

export interface ScoreFile {
  format: Format;
  /** All scores; grouped by query (queries in order of first appearance) when `offsets` is set. */
  scores: Float64Array;
  /** Q+1 offsets into `scores`, or null for flat scores. */
  offsets: Uint32Array | null;
  /** Each score's relevance label, in the order of `scores`, when `labelColumn` was given; else null. */
  labels: Float64Array | null;
  /** One answerable flag per query (in query order) when `answerableColumn` was given and the rows have queries; else null. */
  answerable: boolean[] | null;
  header: string[] | null;
  /** The field separator of a CSV/TSV file with more than one column, else null. */
  delimiter: Delimiter | null;
  /** The numbers of a CSV/TSV file were written with a decimal comma ("0,734"). */
  decimalComma: boolean;
  scoreColumn: string | null;
  queryColumn: string | null;
  labelColumn: string | null;
  answerableColumn: string | null;
  lines: number;
  blankLines: number;
}
