/**
 * Reads a score file (CSV/TSV, JSONL or plain text) line by line into typed arrays: the file is never held whole,
 * and 1,000,000 scores cost 8 MB (Float64Array) plus 4 MB of per-row query ids when a query column groups them.
 *
 * readline + String.split is the fast path (bench/results/cli-calibrate-1m.md); a quote-aware splitter runs only on
 * lines that contain a double quote, so quoted CSV fields work without slowing down the common unquoted file. The
 * separator of a delimited file (`,`, `;`, tab, `|`) and a decimal comma are detected from its first lines
 * (src/delimiter.ts), unless `--format tsv` or `--delimiter` says which.
 *
 * This module is the line loop: it picks the line reader of the file's format (csv-rows.ts, whose columns csv-layout.ts
 * resolves; jsonl-rows.ts; one number a line for plain text), and every row goes into the sink (score-sink.ts).
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { CsvRows } from "./csv-rows";
import { notANumberHint, parseNumber } from "./delimiter";
import { type Format, formatFromName, noPerRowColumn, perRowFlag, sniffFormat, txtFormat } from "./file-layout";
import { InputError, readError } from "./input-error";
import { JsonlRows } from "./jsonl-rows";
import type { ReadOptions, ScoreFile } from "./score-file";
import { ScoreSink } from "./score-sink";
import { shellWord } from "./suggest";

export { FORMATS, type Format } from "./file-layout";
export { InputError } from "./input-error";
export type { ReadOptions, ScoreFile } from "./score-file";

/** A plain score file's line: one number. */
function textLine(sink: ScoreSink, line: string, lineNo: number): void {
  const x = parseNumber(line);
  if (x === null)
    sink.bad(lineNo, `${JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line)} is not a finite number${notANumberHint(line, null)}`);
  else sink.addScore(x, lineNo);
}

/**
 * Reads scores from a file path ("-" = stdin) or a stream. Throws InputError for bad input (with line numbers).
 */
/** A first line that a text file would not have: a NUL byte, or several bytes that are not UTF-8. */
const binary = (line: string): boolean => line.includes("\u0000") || line.split("\uFFFD").length > 3;

/**
 * UTF-16 text read as UTF-8: its byte order mark (FF FE or FE FF) is two bytes that are not UTF-8, and every ASCII
 * character carries a NUL byte. Spreadsheets save it as "Unicode text".
 */
const utf16 = (line: string): boolean => line.startsWith("\uFFFD\uFFFD") && line.includes("\u0000");

export async function readScores(source: string | Readable, opts: ReadOptions = {}): Promise<ScoreFile> {
  const stream: Readable = typeof source === "string" ? (source === "-" ? process.stdin : createReadStream(source)) : source;
  let format: Format | undefined = opts.format ?? (typeof source === "string" && source !== "-" ? formatFromName(source) : undefined);
  // `.txt` names a plain score file or a spreadsheet's delimited text export: the first line tells (txtFormat)
  const txtByName = opts.format === undefined && format === "text";
  let bytes = 0;
  if (opts.onProgress) {
    const onProgress = opts.onProgress;
    let last = 0;
    stream.on("data", (chunk: Buffer | string) => {
      bytes += chunk.length;
      if (bytes - last > 1 << 20) {
        last = bytes;
        onProgress(bytes);
      }
    });
  }
  // a stream (the CLI passes stdin itself for "-") has no name to print
  const name = typeof source !== "string" || source === "-" ? "stdin" : source;
  const sink = new ScoreSink(opts.labelColumn !== undefined, opts.answerableColumn !== undefined);
  /** --label-column and --answerable-column name a column of a CSV/TSV file or a field of JSONL objects, which other layouts lack. */
  const perRow = perRowFlag(opts);
  let lineNo = 0;
  let blankLines = 0;
  let started = false;
  let firstLine = "";
  // the line reader of the file's format, chosen on its first non-blank line (neither: a plain score file, textLine)
  let csv: CsvRows | null = null;
  let jsonl: JsonlRows | null = null;

  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const rawLine of rl) {
      lineNo++;
      // readline splits on \n and \r\n; a lone trailing \r (old Mac files, or CRLF read in pieces) is trimmed with
      // spaces, and so is the UTF-8 byte order mark spreadsheet exports write (trim() removes U+FEFF)
      const line = rawLine.trim();
      if (line === "") {
        blankLines++;
        continue;
      }
      if (!started) {
        started = true;
        firstLine = line;
        // a gzip, parquet or spreadsheet file read as text: one refusal, not a page of garbled bad rows
        if (utf16(line))
          throw new InputError(
            'this file is UTF-16 text (a spreadsheet\'s "Unicode text"): save it as UTF-8 ("CSV UTF-8"), or convert it, e.g. iconv -f UTF-16 -t UTF-8',
          );
        if (binary(line))
          throw new InputError(
            "this is not a text file (its first line holds NUL bytes or bytes that are not UTF-8): calibrate reads CSV, TSV, JSONL or one score per line; decompress or export the file first",
          );
        format ??= sniffFormat(line);
        if (txtByName) format = txtFormat(line);
        if (format === "text" && perRow !== null) throw noPerRowColumn(perRow, "a plain score file");
        if (format === "csv" || format === "tsv") csv = new CsvRows(sink, format, opts);
        else if (format !== "text") jsonl = new JsonlRows(sink, opts, perRow, name);
      }
      if (csv !== null) csv.line(line, lineNo);
      else if (jsonl !== null) jsonl.line(line, lineNo);
      else textLine(sink, line, lineNo);
    }
    csv?.end();
  } catch (e) {
    throw readError(e, source);
  } finally {
    rl.close();
  }
  opts.onProgress?.(bytes);
  // JSONL by --format or the file's name, but not one line is JSON: one refusal naming what it looks like
  const looks = jsonl?.noJson === true ? sniffFormat(firstLine) : "jsonl";
  if (looks !== "jsonl")
    throw new InputError(
      `no line of ${name} is JSON, so it is not JSONL (${opts.format === "jsonl" ? "--format jsonl" : "its name"} says it is): it reads as ${looks === "text" ? "one score per line" : looks.toUpperCase()}: ${opts.format === "jsonl" ? `pass --format ${looks} or none` : `pass --format ${looks}`}`,
    );
  sink.refuseBadRows(name);
  const layout = csv?.layout ?? null;
  const h = layout?.header ?? null;
  if (sink.length === 0) throw new InputError(`no scores in ${name}${h ? " (only a header row)" : ""}`);
  const suspect = csv?.suspect() ?? jsonl?.suspect() ?? null;
  if (suspect !== null)
    throw new InputError(
      `column ${suspect} looks like a query id: pass --query-column ${shellWord(suspect)} to keep per-query statistics, or --no-query-column to upload the scores as one flat list`,
    );

  if (csv !== null) format = csv.format;
  const queryIdx = layout?.queryIdx ?? -1;
  const queryKey = jsonl?.queryKey ?? null;
  const grouped = sink.queries > 0 || (format === "csv" && queryIdx >= 0) || queryKey !== null || jsonl?.kind === "array";
  const column = queryIdx >= 0 && h ? JSON.stringify(h[queryIdx]) : "the query column";
  const { scores, offsets, labels, answerable } = sink.rows(grouped, column);
  const labelIdx = layout?.labelIdx ?? -1;
  const answerableIdx = layout?.answerableIdx ?? -1;
  return {
    format: format!,
    scores,
    offsets,
    labels,
    answerable,
    header: h,
    delimiter: csv !== null && (layout?.width ?? 0) > 1 ? csv.delimiter : null,
    decimalComma: csv?.decimalComma ?? false,
    scoreColumn: h ? (h[layout!.scoreIdx] ?? null) : (jsonl?.scoreKey ?? null),
    queryColumn: h && queryIdx >= 0 ? (h[queryIdx] ?? null) : queryKey,
    labelColumn: labels === null ? null : h && labelIdx >= 0 ? (h[labelIdx] ?? null) : (jsonl?.labelKey ?? opts.labelColumn ?? null),
    answerableColumn: opts.answerableColumn === undefined ? null : h && answerableIdx >= 0 ? (h[answerableIdx] ?? null) : opts.answerableColumn,
    lines: lineNo,
    blankLines,
  };
}
