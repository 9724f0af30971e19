/**
 * Reads a score file (CSV/TSV, JSONL or plain text) line by line into typed arrays: the file is never held whole,
 * and 1,000,000 scores cost 8 MB (Float64Array) plus 4 MB of per-row query ids when a query column groups them.
 *
 * readline + String.split is the fast path (bench/results/cli-calibrate-1m.md); a quote-aware splitter runs only on
 * lines that contain a double quote, so quoted CSV fields work without slowing down the common unquoted file. The
 * separator of a delimited file (`,`, `;`, tab, `|`) and a decimal comma are detected from its first lines
 * (src/delimiter.ts), unless `--format tsv` or `--delimiter` says which.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { MAX_SCORES } from "../../../src/contract";
import { columnIndex, type Format, formatFromName, sniffFormat } from "./file-layout";
import { AnswerableFlags, ANSWERABLE_VALUES, answerableText, parseAnswerable } from "./answerable";
import { count } from "./format";
import { InputError, readError } from "./input-error";
import { floats, groupByQuery, uints } from "./query-groups";
import { QueryColumnSniffer } from "./query-column";
import { shellWord } from "./suggest";
import { DELIMITER_SAMPLE_LINES, type Delimiter, detectDelimiter, otherSeparatorHint, parseNumber, splitFields } from "./delimiter";

export { InputError } from "./input-error";

export { type Format, FORMATS } from "./file-layout";

/** Column names recognised without --score-column / --query-column (reranker and eval tooling spell them so). */
const SCORE_NAMES = ["score", "relevance_score", "relevancescore", "rerank_score", "reranker_score"];
const QUERY_NAMES = ["query_id", "qid", "query"];

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

const MAX_PROBLEMS = 10;

/** A JSON field's value as the query-column sniff compares it: strings and numbers, nothing else. */
const primitive = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);

/** A finite number, or null (see parseNumber). */
const parseScore = (s: string): number | null => parseNumber(s);

/**
 * Reads scores from a file path ("-" = stdin) or a stream. Throws InputError for bad input (with line numbers).
 */
export async function readScores(source: string | Readable, opts: ReadOptions = {}): Promise<ScoreFile> {
  const stream: Readable = typeof source === "string" ? (source === "-" ? process.stdin : createReadStream(source)) : source;
  let format: Format | undefined = opts.format ?? (typeof source === "string" && source !== "-" ? formatFromName(source) : undefined);
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
  const scores = floats();
  // labels[i] belongs to scores[i]: a label is pushed exactly when its score is
  const labels = opts.labelColumn === undefined ? null : floats();
  const answerable = opts.answerableColumn === undefined ? null : new AnswerableFlags();
  const rowQuery = uints();
  const queryIds = new Map<string, number>();
  const problems: string[] = [];
  let badRows = 0;
  /** Records a bad row; returns false so that a line handler can `return bad(...)`. */
  const bad = (lineNo: number, msg: string): false => {
    badRows++;
    if (problems.length < MAX_PROBLEMS) problems.push(`line ${lineNo}: ${msg}`);
    return false;
  };

  let lineNo = 0;
  let blankLines = 0;
  let started = false;
  let header: string[] | null = null;
  // --format tsv says tab; otherwise the separator is detected from the first DELIMITER_SAMPLE_LINES lines, held in
  // `sample` until then
  let delimiter: Delimiter | null = opts.delimiter ?? (opts.format === "tsv" ? "\t" : null);
  let decimalComma = false;
  let sample: { no: number; line: string }[] | null = null;
  let scoreIdx = 0;
  let queryIdx = -1;
  let labelIdx = -1;
  let labelKey: string | null = null;
  let answerableIdx = -1;
  let scoreKey: string | null = null;
  let queryKey: string | null = null;
  let width = 0;
  let jsonlKind: "number" | "array" | "object" | null = null;
  let tooMany = false;
  // set while no query column is named or recognised (and --no-query-column is not given): one that looks like one
  let sniffer: QueryColumnSniffer | null = null;
  let sniffedKeys: string[] = [];

  /** Adds the row to its query, and its answerable flag (when read: `flag` non-null) to the query's. */
  const addQuery = (key: string, no: number, flag: boolean | null = null): void => {
    let id = queryIds.get(key);
    if (id === undefined) {
      id = queryIds.size;
      queryIds.set(key, id);
    }
    rowQuery.push(id);
    const disagrees = flag === null ? null : answerable!.observe(id, key, flag, no);
    if (disagrees !== null) bad(no, disagrees);
  };
  /** A row's answerable flag; undefined after recording the row as bad, naming its value (undefined `raw`: missing). */
  const flagOf = (raw: unknown, no: number, where: string): boolean | undefined => {
    const flag = parseAnswerable(raw);
    if (flag !== null) return flag;
    bad(no, `the answerable flag ${where}is ${answerableText(raw)}, not ${ANSWERABLE_VALUES}`);
    return undefined;
  };
  const addScore = (x: number, lineNumber: number, label: number | null = null): boolean => {
    if (scores.length === MAX_SCORES) {
      if (!tooMany) bad(lineNumber, `more than ${count(MAX_SCORES)} scores: the server accepts at most that many in one calibration`);
      tooMany = true;
      return false;
    }
    scores.push(x);
    if (labels !== null) labels.push(label!);
    return true;
  };
  /** --label-column and --answerable-column name a column of a CSV/TSV file or a field of JSONL objects, which other layouts lack. */
  const perRowFlag = opts.labelColumn !== undefined ? "--label-column" : opts.answerableColumn !== undefined ? "--answerable-column" : null;
  const noLabelsIn = (what: string): InputError =>
    new InputError(
      `${perRowFlag} reads a column of a CSV/TSV file or a field of JSONL objects (one candidate per line), and ${what} has none: write one row per candidate with its ${perRowFlag === "--label-column" ? "label" : "flag"}`,
    );

  const field = (s: string): number | null => parseNumber(s, decimalComma);
  const startCsv = (line: string, no: number): boolean => {
    const fields = splitFields(line, delimiter!) ?? [line];
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
    width = trimmed.length;
    if (isHeader) header = trimmed;
    if (opts.scoreColumn !== undefined) {
      scoreIdx = columnIndex(opts.scoreColumn, header, "score", "--score-column");
    } else if (header) {
      const h = header as string[];
      scoreIdx = h.findIndex((x) => SCORE_NAMES.includes(x.toLowerCase()));
      if (scoreIdx < 0) {
        if (h.length === 1) scoreIdx = 0;
        else
          throw new InputError(
            `which column holds the scores? the header has ${h.map((x) => JSON.stringify(x)).join(", ")}, none named "score": pass --score-column NAME`,
          );
      }
    } else if (width === 1) {
      scoreIdx = 0;
    } else if (width === 2 && opts.queryColumn === undefined) {
      throw new InputError("the CSV has two columns and no header row: pass --score-column N and --query-column N (1 = first column)");
    } else if (opts.queryColumn === undefined) {
      throw new InputError(`the CSV has ${width} columns and no header row: pass --score-column N (1 = first column)`);
    } else {
      throw new InputError("the CSV has no header row: pass --score-column N (1 = first column)");
    }
    if (opts.queryColumn !== undefined && opts.queryColumn !== "") {
      queryIdx = columnIndex(opts.queryColumn, header, "query", "--query-column");
    } else if (opts.queryColumn === undefined && header) {
      queryIdx = (header as string[]).findIndex((x) => QUERY_NAMES.includes(x.toLowerCase()));
    }
    if (scoreIdx >= width || queryIdx >= width)
      throw new InputError(`column ${Math.max(scoreIdx, queryIdx) + 1} does not exist: line ${no} has ${width} fields`);
    if (queryIdx === scoreIdx) throw new InputError("the score column and the query column are the same column");
    if (opts.labelColumn !== undefined) {
      labelIdx = columnIndex(opts.labelColumn, header, "label", "--label-column");
      if (labelIdx >= width) throw new InputError(`column ${labelIdx + 1} does not exist: line ${no} has ${width} fields`);
      if (labelIdx === scoreIdx || labelIdx === queryIdx)
        throw new InputError(`the label column is the same column as the ${labelIdx === scoreIdx ? "score" : "query"} column`);
    }
    if (opts.answerableColumn !== undefined) {
      answerableIdx = columnIndex(opts.answerableColumn, header, "answerable", "--answerable-column");
      if (answerableIdx >= width) throw new InputError(`column ${answerableIdx + 1} does not exist: line ${no} has ${width} fields`);
      const same = [scoreIdx, queryIdx, labelIdx].indexOf(answerableIdx);
      if (same >= 0) throw new InputError(`the answerable column is the same column as the ${["score", "query", "label"][same]} column`);
    }
    if (queryIdx < 0 && opts.queryColumn === undefined && width > 1) sniffer = new QueryColumnSniffer(header, width, scoreIdx);
    return !isHeader;
  };

  const csvLine = (line: string, no: number) => {
    const fields = splitFields(line, delimiter!);
    if (fields === null) return bad(no, "unterminated or misplaced double quote (a quoted field may not span lines)");
    // every record has the first row's field count (RFC 4180): a row split differently would put another column's
    // value in the score's place
    if (fields.length !== width)
      return bad(no, `has ${fields.length} fields, the ${header ? "header" : "first row"} has ${width}${otherSeparatorHint(line, delimiter!)}`);
    const raw = fields[scoreIdx]!;
    const x = field(raw);
    if (x === null) return bad(no, `${JSON.stringify(raw)} is not a finite number${otherSeparatorHint(raw, delimiter!)}`);
    let label: number | null = null;
    if (labelIdx >= 0) {
      const rawLabel = fields[labelIdx]!;
      label = field(rawLabel);
      if (label === null) return bad(no, `the label ${JSON.stringify(rawLabel)} is not a finite number`);
    }
    // the flag is the query's: read only for rows that have a query (flat rows are refused by the caller)
    const flag = answerableIdx >= 0 && queryIdx >= 0 ? flagOf(fields[answerableIdx]!, no, "") : null;
    if (flag === undefined) return false;
    if (queryIdx >= 0) {
      const q = fields[queryIdx]!;
      if (q.trim() === "") return bad(no, "the query column is empty");
      if (addScore(x, no, label)) addQuery(q.trim(), no, flag);
    } else {
      if (sniffer?.sniffing) sniffer.observe(fields);
      addScore(x, no, label);
    }
  };
  /** Chooses the separator from the sampled lines, then reads them. */
  const endSample = () => {
    const lines = sample!;
    sample = null;
    if (delimiter === null) {
      const guess = detectDelimiter(lines.map((l) => l.line));
      delimiter = guess.delimiter;
      decimalComma = guess.decimalComma;
      format = delimiter === "\t" ? "tsv" : "csv";
    }
    lines.forEach((l, i) => {
      if (i > 0) csvLine(l.line, l.no);
      else if (startCsv(l.line, l.no)) csvLine(l.line, l.no);
    });
  };

  const textLine = (line: string) => {
    const x = parseScore(line);
    if (x === null) return bad(lineNo, `${JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line)} is not a finite number`);
    addScore(x, lineNo);
  };

  const jsonlLine = (line: string) => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return bad(lineNo, "is not valid JSON");
    }
    const kind = typeof v === "number" ? "number" : Array.isArray(v) ? "array" : typeof v === "object" && v !== null ? "object" : null;
    if (kind === null) return bad(lineNo, "must be a number, an array of numbers (one query) or an object with a score field");
    if (jsonlKind === null) {
      jsonlKind = kind;
      if (kind !== "object" && perRowFlag !== null) throw noLabelsIn(`a JSONL file of ${kind === "array" ? "arrays" : "numbers"}`);
      if (kind === "object") {
        labelKey = opts.labelColumn ?? null;
        const keys = Object.keys(v as object);
        scoreKey = opts.scoreColumn ?? keys.find((k) => SCORE_NAMES.includes(k.toLowerCase())) ?? null;
        if (scoreKey === null)
          throw new InputError(
            `which field holds the score? line ${lineNo} has ${keys.map((k) => JSON.stringify(k)).join(", ")}: pass --score-column NAME`,
          );
        queryKey = opts.queryColumn === "" ? null : (opts.queryColumn ?? keys.find((k) => QUERY_NAMES.includes(k.toLowerCase())) ?? null);
        if (queryKey === null && opts.queryColumn === undefined && keys.length > 1) {
          sniffer = new QueryColumnSniffer(keys, keys.length, keys.indexOf(scoreKey));
          sniffedKeys = keys;
        }
      }
    } else if (kind !== jsonlKind)
      return bad(lineNo, `is ${kind === "array" ? "an array" : `a${kind === "object" ? "n" : ""} ${kind}`}, earlier lines are ${jsonlKind}s`);
    if (kind === "number") {
      if (!Number.isFinite(v)) return bad(lineNo, "is not a finite number");
      addScore(v as number, lineNo);
    } else if (kind === "array") {
      const arr = v as unknown[];
      if (arr.length === 0) return bad(lineNo, "an empty query: a query needs at least one candidate score");
      if (!arr.every((x) => typeof x === "number" && Number.isFinite(x))) return bad(lineNo, "a query must be an array of finite numbers");
      const id = `\u0000${lineNo}`;
      for (const x of arr as number[]) if (addScore(x, lineNo)) addQuery(id, lineNo);
    } else {
      const o = v as Record<string, unknown>;
      const s = o[scoreKey!];
      const x = typeof s === "number" ? s : typeof s === "string" ? parseScore(s.trim()) : null;
      if (x === null || !Number.isFinite(x))
        return bad(lineNo, `field ${JSON.stringify(scoreKey)} is ${s === undefined ? "missing" : "not a finite number"}`);
      let label: number | null = null;
      if (labelKey !== null) {
        const l = o[labelKey];
        label = typeof l === "number" ? l : typeof l === "string" ? parseScore(l.trim()) : null;
        if (label === null || !Number.isFinite(label))
          return bad(lineNo, `field ${JSON.stringify(labelKey)} (the label) is ${l === undefined ? "missing" : "not a finite number"}`);
      }
      if (queryKey !== null) {
        const q = o[queryKey];
        if (q === undefined || q === null || q === "") return bad(lineNo, `field ${JSON.stringify(queryKey)} (the query) is missing`);
        const key = opts.answerableColumn;
        const flag = key === undefined ? null : flagOf(o[key], lineNo, `(field ${JSON.stringify(key)}) `);
        if (flag === undefined) return false;
        if (addScore(x, lineNo, label)) addQuery(typeof q === "string" ? q : JSON.stringify(q), lineNo, flag);
      } else {
        if (sniffer?.sniffing) sniffer.observe(sniffedKeys.map((k) => primitive(o[k])));
        addScore(x, lineNo, label);
      }
    }
  };

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
        format ??= sniffFormat(line);
        if (format === "text" && perRowFlag !== null) throw noLabelsIn("a plain score file");
        if (format === "csv" || format === "tsv") sample = [];
      }
      if (sample !== null) {
        sample.push({ no: lineNo, line });
        if (sample.length === (delimiter === null ? DELIMITER_SAMPLE_LINES : 1)) endSample();
        continue;
      }
      if (format === "csv" || format === "tsv") csvLine(line, lineNo);
      else if (format === "text") textLine(line);
      else jsonlLine(line);
    }
    if (sample !== null) endSample();
  } catch (e) {
    throw readError(e, source);
  } finally {
    rl.close();
  }
  opts.onProgress?.(bytes);
  if (badRows > 0) {
    throw new InputError(
      `${count(badRows)} bad row${badRows === 1 ? "" : "s"} in ${source === "-" ? "stdin" : String(source)}: fix or remove them`,
      problems,
    );
  }
  if (scores.length === 0) throw new InputError(`no scores in ${source === "-" ? "stdin" : String(source)}${header ? " (only a header row)" : ""}`);
  const suspect = (sniffer as QueryColumnSniffer | null)?.suspect() ?? null;
  if (suspect !== null)
    throw new InputError(
      `column ${suspect} looks like a query id: pass --query-column ${shellWord(suspect)} to keep per-query statistics, or --no-query-column to upload the scores as one flat list`,
    );

  const grouped = queryIds.size > 0 || (format === "csv" && queryIdx >= 0) || queryKey !== null || jsonlKind === "array";
  let out = scores.data.subarray(0, scores.length);
  let outLabels = labels === null ? null : labels.data.subarray(0, labels.length);
  let offsets: Uint32Array | null = null;
  if (grouped) {
    const column = queryIdx >= 0 && header ? JSON.stringify((header as string[])[queryIdx]) : "the query column";
    ({ scores: out, labels: outLabels, offsets } = groupByQuery(out, outLabels, rowQuery.data, queryIds, column));
  }
  const h = header as string[] | null;
  return {
    format: format!,
    scores: out,
    offsets,
    labels: outLabels,
    answerable: answerable === null || offsets === null ? null : answerable.done(offsets.length - 1),
    header: h,
    delimiter: (format === "csv" || format === "tsv") && width > 1 ? delimiter : null,
    decimalComma,
    scoreColumn: h ? (h[scoreIdx] ?? null) : scoreKey,
    queryColumn: h && queryIdx >= 0 ? (h[queryIdx] ?? null) : queryKey,
    labelColumn: labels === null ? null : h && labelIdx >= 0 ? (h[labelIdx] ?? null) : (labelKey ?? opts.labelColumn ?? null),
    answerableColumn: answerable === null ? null : h && answerableIdx >= 0 ? (h[answerableIdx] ?? null) : (opts.answerableColumn ?? null),
    lines: lineNo,
    blankLines,
  };
}
