/**
 * The CSV/TSV line reader: holds the first DELIMITER_SAMPLE_LINES lines back until the separator and a decimal comma
 * are detected from them (delimiter.ts; a given separator is not detected, a decimal comma still is, except after a
 * comma separator: one line then), resolves the columns from the first
 * row (csv-layout.ts), then checks each row and puts its score, label, query and answerable flag into the sink.
 */
import { type CsvLayout, csvLayout } from "./csv-layout";
import {
  DELIMITER_NAMES,
  DELIMITER_SAMPLE_LINES,
  DELIMITERS,
  type Delimiter,
  decimalCommaUnder,
  detectDelimiter,
  notANumberHint,
  otherSeparatorHint,
  parseNumber,
  splitFields,
} from "./delimiter";
import type { Format } from "./file-layout";
import { InputError } from "./input-error";
import { QueryColumnSniffer } from "./query-column";
import type { ReadOptions } from "./score-file";
import type { ScoreSink } from "./score-sink";

export class CsvRows {
  readonly #sink: ScoreSink;
  readonly #opts: ReadOptions;
  #format: Format;
  #delimiter: Delimiter | null;
  #decimalComma = false;
  #sample: { no: number; line: string }[] | null = [];
  #layout: CsvLayout | null = null;
  // the layout's fields, read on every row
  #width = 0;
  #scoreIdx = 0;
  #queryIdx = -1;
  #labelIdx = -1;
  #answerableIdx = -1;
  #header: string[] | null = null;
  // set while no query column is named or recognised (and --no-query-column is not given): one that looks like one
  #sniffer: QueryColumnSniffer | null = null;

  /** `format`: "csv" or "tsv", until the detected separator says which. */
  constructor(sink: ScoreSink, format: Format, opts: ReadOptions) {
    this.#sink = sink;
    this.#opts = opts;
    this.#format = format;
    // --format tsv says tab; otherwise the separator is detected from the sampled lines
    this.#delimiter = opts.delimiter ?? (opts.format === "tsv" ? "\t" : null);
  }

  /** One non-blank, trimmed line, numbered `no` in the file. */
  line(line: string, no: number): void {
    if (this.#sample !== null) {
      if (this.#sample.length === 0 && this.#layout === null && this.#separatorLine(line)) return;
      this.#sample.push({ no, line });
      // a given separator other than a comma still samples the lines for a decimal comma
      if (this.#sample.length === (this.#delimiter === "," ? 1 : DELIMITER_SAMPLE_LINES)) this.#endSample();
      return;
    }
    this.#row(line, no);
  }

  /**
   * Excel's `sep=;` first line, which names the separator of the lines below (it writes one in some locales): the
   * separator it names is used unless --delimiter or --format tsv gave one, and the line is not a row. The line
   * arrives trimmed, so `sep=` followed by a tab is `sep=`.
   */
  #separatorLine(line: string): boolean {
    const m = /^sep=(.?)$/iu.exec(line);
    if (m === null) return false;
    const named = m[1] === "" ? "\t" : m[1]!;
    const d = DELIMITERS.find((x) => x === named);
    if (d === undefined)
      throw new InputError(
        `the first line ${JSON.stringify(line)} names the separator ${JSON.stringify(named)}: the CLI reads comma, semicolon, tab or pipe`,
      );
    this.#delimiter ??= d;
    return true;
  }

  /** After the last line: reads the lines still held back (a file shorter than the sample). */
  end(): void {
    if (this.#sample !== null) this.#endSample();
  }

  get format(): Format {
    return this.#format;
  }

  /** The columns, once the first row is read; else null. */
  get layout(): CsvLayout | null {
    return this.#layout;
  }

  /** The field separator, given or detected (null while undetected). */
  get delimiter(): Delimiter | null {
    return this.#delimiter;
  }

  get decimalComma(): boolean {
    return this.#decimalComma;
  }

  /** The column that looks like a query id although none was named (query-column.ts), or null. */
  suspect(): string | null {
    return this.#sniffer?.suspect() ?? null;
  }

  /** Chooses the separator from the sampled lines, then reads them. */
  #endSample(): void {
    const lines = this.#sample!;
    this.#sample = null;
    if (this.#delimiter === null) {
      const guess = detectDelimiter(lines.map((l) => l.line));
      if (guess.mismatch !== undefined) throw fieldCountMismatch(lines, guess.delimiter, guess.mismatch, guess.decimalComma);
      this.#delimiter = guess.delimiter;
      this.#decimalComma = guess.decimalComma;
      // a one-column file is split at a separator no line holds: its format stays the one its name (or sniff) gave
      if (lines.some((l) => l.line.includes(guess.delimiter))) this.#format = this.#delimiter === "\t" ? "tsv" : "csv";
    } else
      this.#decimalComma = decimalCommaUnder(
        lines.map((l) => l.line),
        this.#delimiter,
      );
    lines.forEach((l, i) => {
      if (i > 0) this.#row(l.line, l.no);
      else if (this.#start(l.line, l.no)) this.#row(l.line, l.no);
    });
  }

  /** Resolves the columns from the first row; true when that row is data (no header). */
  #start(line: string, no: number): boolean {
    const opts = this.#opts;
    const layout = csvLayout(line, no, this.#delimiter!, this.#decimalComma, opts);
    this.#layout = layout;
    this.#width = layout.width;
    this.#scoreIdx = layout.scoreIdx;
    this.#queryIdx = layout.queryIdx;
    this.#labelIdx = layout.labelIdx;
    this.#answerableIdx = layout.answerableIdx;
    this.#header = layout.header;
    if (layout.queryIdx < 0 && opts.queryColumn === undefined && layout.width > 1)
      this.#sniffer = new QueryColumnSniffer(layout.header, layout.width, layout.scoreIdx);
    return layout.header === null;
  }

  #row(line: string, no: number): void {
    const sink = this.#sink;
    const delimiter = this.#delimiter!;
    const fields = splitFields(line, delimiter);
    if (fields === null) {
      sink.bad(no, "unterminated or misplaced double quote (a quoted field may not span lines)");
      return;
    }
    // every record has the first row's field count (RFC 4180): a row split differently would put another column's
    // value in the score's place
    if (fields.length !== this.#width) {
      sink.bad(
        no,
        `has ${fields.length} fields, the ${this.#header ? "header" : "first row"} has ${this.#width}${otherSeparatorHint(line, delimiter)}`,
      );
      return;
    }
    const raw = fields[this.#scoreIdx]!;
    const x = parseNumber(raw, this.#decimalComma);
    if (x === null) {
      sink.bad(no, `${JSON.stringify(raw)} is not a finite number${notANumberHint(raw, delimiter)}`);
      return;
    }
    let label: number | null = null;
    if (this.#labelIdx >= 0) {
      const rawLabel = fields[this.#labelIdx]!;
      label = parseNumber(rawLabel, this.#decimalComma);
      if (label === null) {
        sink.bad(no, `the label ${JSON.stringify(rawLabel)} is not a finite number`);
        return;
      }
    }
    const queryIdx = this.#queryIdx;
    // the flag is the query's: read only for rows that have a query (flat rows are refused by the caller)
    const flag = this.#answerableIdx >= 0 && queryIdx >= 0 ? sink.flagOf(fields[this.#answerableIdx]!, no, "") : null;
    if (flag === undefined) return;
    if (queryIdx >= 0) {
      const q = fields[queryIdx]!;
      if (q.trim() === "") {
        sink.bad(no, "the query column is empty");
        return;
      }
      if (sink.addScore(x, no, label)) sink.addQuery(q.trim(), no, flag);
    } else {
      if (this.#sniffer?.sniffing) this.#sniffer.observe(fields);
      sink.addScore(x, no, label);
    }
  }
}

/**
 * The refusal of a file whose first line and rows split at `delimiter` into different field counts (detectDelimiter's
 * `mismatch`): read as one column, every row would be "not a finite number" with a hint that blames the separator.
 */
function fieldCountMismatch(
  lines: readonly { no: number; line: string }[],
  delimiter: Delimiter,
  m: { firstFields: number; rowFields: number },
  decimalComma: boolean,
): InputError {
  const [first, second] = [lines[0]!, lines[1]!];
  const shown = (l: string): string => JSON.stringify(l.length > 40 ? `${l.slice(0, 40)}…` : l);
  // a header has no number in it (csvLayout's rule); a first line with one is a row that differs from the others
  const header = (splitFields(first.line, delimiter) ?? []).every((f) => parseNumber(f.trim(), decimalComma) === null);
  const name = DELIMITER_NAMES[delimiter];
  const last = lines.at(-1)!.no;
  const rows = lines.length === 2 ? `the row has ${m.rowFields} (line ${second.no}` : `the rows ${m.rowFields} (lines ${second.no} to ${last}`;
  return new InputError(
    `${header ? "the header" : "the first row"} has ${m.firstFields} fields, ${rows}), split at each ${name}: line ${first.no} is ${shown(first.line)}, line ${second.no} ${shown(second.line)}`,
    [
      header
        ? m.firstFields > m.rowFields
          ? "the header names columns the rows lack: remove those names, or write the columns in every row"
          : "the rows have columns the header does not name: name every column in the header"
        : "every row must have as many fields as the first",
      `if the ${name} does not separate the fields, pass --delimiter with the one that does`,
    ],
  );
}
