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
import { count } from "./format";
import { InputError } from "./input-error";
import { Floats, groupByQuery, Uints } from "./query-groups";
import { QueryColumnSniffer } from "./query-column";
import { shellWord } from "./suggest";
import { DELIMITER_NAMES, DELIMITER_SAMPLE_LINES, DELIMITERS, type Delimiter, detectDelimiter, parseNumber, splitFields } from "./delimiter";

export { InputError } from "./input-error";

export type Format = "csv" | "tsv" | "jsonl" | "text";
export const FORMATS: readonly Format[] = ["csv", "tsv", "jsonl", "text"];

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
  header: string[] | null;
  /** The field separator of a CSV/TSV file with more than one column, else null. */
  delimiter: Delimiter | null;
  /** The numbers of a CSV/TSV file were written with a decimal comma ("0,734"). */
  decimalComma: boolean;
  scoreColumn: string | null;
  queryColumn: string | null;
  labelColumn: string | null;
  lines: number;
  blankLines: number;
}

const MAX_PROBLEMS = 10;

/** A JSON field's value as the query-column sniff compares it: strings and numbers, nothing else. */
const primitive = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);

/** A finite number, or null (see parseNumber). */
const parseScore = (s: string): number | null => parseNumber(s);

function formatFromName(file: string): Format | undefined {
  const lower = file.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".tsv") || lower.endsWith(".tab")) return "tsv";
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  if (lower.endsWith(".txt")) return "text";
  return undefined;
}

function sniff(line: string): Format {
  const c = line[0];
  if (c === "{" || c === "[") return "jsonl";
  if (line.includes("\t")) return "tsv";
  if (line.includes(",")) return "csv";
  // one field: a number is a plain score file, a word is the header of a one-column CSV
  return parseScore(line) === null ? "csv" : "text";
}

/** Resolves a column given by name (header) or 1-based position. */
function columnIndex(spec: string, header: string[] | null, what: string, flag: string): number {
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
  const scores = new Floats();
  // labels[i] belongs to scores[i]: a label is pushed exactly when its score is
  const labels = opts.labelColumn === undefined ? null : new Floats();
  const rowQuery = new Uints();
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
  let scoreKey: string | null = null;
  let queryKey: string | null = null;
  let width = 0;
  let jsonlKind: "number" | "array" | "object" | null = null;
  let tooMany = false;
  // set while no query column is named or recognised (and --no-query-column is not given): one that looks like one
  let sniffer: QueryColumnSniffer | null = null;
  let sniffedKeys: string[] = [];

  const addQuery = (key: string): void => {
    let id = queryIds.get(key);
    if (id === undefined) {
      id = queryIds.size;
      queryIds.set(key, id);
    }
    rowQuery.push(id);
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
  /** --label-column names a column of a CSV/TSV file or a field of JSONL objects: refused for the other layouts. */
  const noLabelsIn = (what: string): InputError =>
    new InputError(
      `--label-column reads a column of a CSV/TSV file or a field of JSONL objects (one candidate per line), and ${what} has none: write one row per candidate with its label`,
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
    if (queryIdx < 0 && opts.queryColumn === undefined && width > 1) sniffer = new QueryColumnSniffer(header, width, scoreIdx);
    return !isHeader;
  };

  const csvLine = (line: string, no: number) => {
    const fields = splitFields(line, delimiter!);
    if (fields === null) return bad(no, "unterminated or misplaced double quote (a quoted field may not span lines)");
    // every record has the first row's field count (RFC 4180): a row split differently would put another column's
    // value in the score's place
    if (fields.length !== width)
      return bad(no, `has ${fields.length} fields, the ${header ? "header" : "first row"} has ${width}${otherSeparator(line)}`);
    const raw = fields[scoreIdx]!;
    const x = field(raw);
    if (x === null) return bad(no, `${JSON.stringify(raw)} is not a finite number${otherSeparator(raw)}`);
    let label: number | null = null;
    if (labelIdx >= 0) {
      const rawLabel = fields[labelIdx]!;
      label = field(rawLabel);
      if (label === null) return bad(no, `the label ${JSON.stringify(rawLabel)} is not a finite number`);
    }
    if (queryIdx >= 0) {
      const q = fields[queryIdx]!;
      if (q.trim() === "") return bad(no, "the query column is empty");
      if (addScore(x, no, label)) addQuery(q.trim());
    } else {
      if (sniffer?.sniffing) sniffer.observe(fields);
      addScore(x, no, label);
    }
  };
  /** A hint when text holds another separator than the one in use: the detection was wrong, or the file is mixed. */
  const otherSeparator = (text: string): string => {
    const other = DELIMITERS.find((d) => d !== delimiter && text.includes(d));
    return other === undefined
      ? ""
      : ` (it holds a ${DELIMITER_NAMES[other]} and the fields are split at each ${DELIMITER_NAMES[delimiter!]}: if the ${DELIMITER_NAMES[other]} separates them, pass --delimiter ${DELIMITER_NAMES[other]})`;
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
      if (kind !== "object" && labels !== null) throw noLabelsIn(`a JSONL file of ${kind === "array" ? "arrays" : "numbers"}`);
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
      for (const x of arr as number[]) if (addScore(x, lineNo)) addQuery(id);
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
        if (addScore(x, lineNo, label)) addQuery(typeof q === "string" ? q : JSON.stringify(q));
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
        format ??= sniff(line);
        if (format === "text" && labels !== null) throw noLabelsIn("a plain score file");
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
    if (e instanceof InputError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") throw new InputError(`cannot read ${String(source)}: no such file`);
    if (err.code === "EISDIR") throw new InputError(`cannot read ${String(source)}: it is a directory`);
    if (err.code === "EACCES") throw new InputError(`cannot read ${String(source)}: permission denied`);
    throw e;
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
    header: h,
    delimiter: (format === "csv" || format === "tsv") && width > 1 ? delimiter : null,
    decimalComma,
    scoreColumn: h ? (h[scoreIdx] ?? null) : scoreKey,
    queryColumn: h && queryIdx >= 0 ? (h[queryIdx] ?? null) : queryKey,
    labelColumn: labels === null ? null : h && labelIdx >= 0 ? (h[labelIdx] ?? null) : (labelKey ?? opts.labelColumn ?? null),
    lines: lineNo,
    blankLines,
  };
}
