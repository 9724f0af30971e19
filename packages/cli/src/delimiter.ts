/**
 * Which character separates the fields of a delimited score file, and whether its numbers use a decimal comma.
 *
 * Spreadsheets save "CSV" with the separator of the user's locale: `;` (and `0,734` for numbers) where the comma is
 * the decimal mark, a tab when exported as text, `,` elsewhere. The file name does not say which.
 *
 * Hand-written rather than a CSV library, on purpose (measured in docs/benchmarks.md section 11, 1,000,000 rows):
 * - csv-parse 7 has no detection (its `delimiter` option takes separators accepted anywhere, not a guess), and took
 *   3.9 times the line reader's time;
 * - papaparse 5 is as fast as the line reader (0.9x) and guesses the separator (`delimiter: ""`: the candidate whose
 *   field count varies least over the first rows), but it guesses `,` for the very file this detector exists for
 *   (`query_id;score` then `q1;0,5`: it splits `q1;0` from `5`), reads no decimal comma, adds 350 KB to a shipped
 *   CLI, and its records carry no line numbers, which every bad-row message gives.
 * The CLI's reader stays on readline + split, with the quote-aware splitter below only for lines that hold a quote.
 * This detector takes papaparse's idea (consistent field counts over a sample) and adds what a score file allows:
 * the columns that hold numbers in every sampled row decide between candidates that split equally well, which tells
 * `q1;0,5` (`;`, a decimal comma) from `q1,0.5` (`,`).
 */

/** The separators detected, in the order that breaks a tie: a tab or `;` inside a field is rarer than a comma. */
export const DELIMITERS = ["\t", ";", ",", "|"] as const;
export type Delimiter = (typeof DELIMITERS)[number];

/** Non-blank lines read before the separator is chosen: a header and enough rows to see a consistent field count. */
export const DELIMITER_SAMPLE_LINES = 20;

/** How the separators are named in messages and accepted by `--delimiter`. */
export const DELIMITER_NAMES: Readonly<Record<Delimiter, string>> = { "\t": "tab", ";": "semicolon", ",": "comma", "|": "pipe" };

/** `--delimiter` values: the character itself, or its name ("tab" is the only way to type a tab in most shells). */
export function delimiterFromFlag(value: string): Delimiter | null {
  const byChar = DELIMITERS.find((d) => d === value);
  if (byChar !== undefined) return byChar;
  if (value === "\\t") return "\t";
  const byName = DELIMITERS.find((d) => DELIMITER_NAMES[d] === value.toLowerCase());
  return byName ?? null;
}

/** One record of one line (RFC 4180 quoting; a quoted field may not span lines); null for a misplaced quote. */
export function splitQuoted(line: string, delimiter: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let field = "";
      i++;
      for (;;) {
        const j = line.indexOf('"', i);
        if (j < 0) return null; // unterminated quote
        field += line.slice(i, j);
        if (line[j + 1] === '"') {
          field += '"';
          i = j + 2;
        } else {
          i = j + 1;
          break;
        }
      }
      // tolerate spaces between the closing quote and the delimiter
      while (line[i] === " ") i++;
      out.push(field);
      if (i >= line.length) return out;
      if (line[i] !== delimiter) return null;
      i++;
    } else {
      const j = line.indexOf(delimiter, i);
      if (j < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, j));
      i = j + 1;
    }
  }
}

/** The fields of one line: `split` unless the line holds a quote (the fast path of every unquoted file). */
export function splitFields(line: string, delimiter: string): string[] | null {
  return line.includes('"') ? splitQuoted(line, delimiter) : line.split(delimiter);
}

const DECIMAL_COMMA = /^[-+]?\d*,\d+(?:[eE][-+]?\d+)?$/u;
/** "0,734": a number written with a decimal comma (or "1,234", which may be one). */
export const isDecimalComma = (text: string): boolean => DECIMAL_COMMA.test(text.trim());
const DECIMAL_POINT = /^[-+]?\d*\.\d+(?:[eE][-+]?\d+)?$/u;

/**
 * Digits grouped by thousands, unambiguously: decimals after another mark ("1.234,5", "1,234.5", "12 345,6",
 * "1'234.5") or two groups or more ("1,234,567"). "1,234" and "0,734" may be decimals and are not claimed.
 */
const GROUPED = /^\s*[-+]?[1-9]\d{0,2}([.,' ])\d{3}(?:(?:\1\d{3})+(?:(?!\1)[.,]\d+)?|(?!\1)[.,]\d+)\s*$/u;

/**
 * A hint for a field that is not a number: a thousands separator is named as such (a separator hint would send the
 * user after the wrong cause), else another separator than the one in use (the detection was wrong, or the file is
 * mixed).
 */
export function notANumberHint(text: string, delimiter: Delimiter | null): string {
  if (GROUPED.test(text)) return " (it looks like a number with a thousands separator: write scores without one, e.g. 1234.5)";
  const t = text.trim();
  // a comma file reads no decimal comma (the comma splits its fields), nor does a text file (one plain number a line)
  if (DECIMAL_COMMA.test(t) && (delimiter === "," || delimiter === null)) {
    const point = t.replace(",", ".");
    return delimiter === ","
      ? ` (a decimal comma in a comma-separated file: write scores with a decimal point, ${point}, or save the file with its own delimiter, semicolons or tabs, where decimal commas are read)`
      : ` (a decimal comma: write scores with a decimal point, ${point})`;
  }
  return delimiter === null ? "" : otherSeparatorHint(text, delimiter);
}

/** A hint when text holds another separator than the one in use: the detection was wrong, or the file is mixed. */
export function otherSeparatorHint(text: string, delimiter: Delimiter): string {
  const other = DELIMITERS.find((d) => d !== delimiter && text.includes(d));
  return other === undefined
    ? ""
    : ` (it holds a ${DELIMITER_NAMES[other]} and the fields are split at each ${DELIMITER_NAMES[delimiter]}: if the ${DELIMITER_NAMES[other]} separates them, pass --delimiter ${DELIMITER_NAMES[other]})`;
}

/**
 * A finite number, or null. Empty fields are refused (Number("") is 0, which would invent a score). With
 * `decimalComma`, "0,734" is 0.734; "1.234,5" (a thousands separator) and "1,2,3" are still refused (the one comma
 * becomes a point, and what is left is not a number). Called once per row: no allocation unless a comma is there.
 */
export function parseNumber(s: string, decimalComma = false): number | null {
  const x = Number(decimalComma && s.includes(",") ? s.replace(",", ".") : s);
  if (!Number.isFinite(x)) return null;
  if (x === 0 && s.trim() === "") return null;
  // Number() also reads "0x1A" (26), "0b11" and "0o17": not how a score is written; refuse them as the row it is
  if (Number.isInteger(x) && isPrefixedInteger(s)) return null;
  return x;
}

/** "0x..", "0b.." or "0o.." (JavaScript's integer literals), after leading spaces. */
function isPrefixedInteger(s: string): boolean {
  const t = s.trimStart();
  const c = t.charCodeAt(1) | 32; // lower case
  return t.charCodeAt(0) === 48 && (c === 120 || c === 98 || c === 111);
}

/**
 * Whether the sampled lines, split at a `delimiter` that is given rather than detected (--delimiter, --format tsv),
 * write their numbers with a decimal comma: by detectDelimiter's rule (never with a comma separator; every sampled
 * decimal has a comma).
 */
export function decimalCommaUnder(lines: readonly string[], delimiter: Delimiter): boolean {
  if (delimiter === "," || lines.length === 0) return false;
  return hasDecimalComma(candidate(lines, delimiter));
}

const hasDecimalComma = (c: Candidate): boolean => c.delimiter !== "," && c.commaDecimals > 0 && c.pointDecimals === 0;

export interface DelimiterGuess {
  delimiter: Delimiter;
  /** The numbers use a decimal comma: the separator is not a comma, and the sample's decimals all have one. */
  decimalComma: boolean;
  /**
   * Set when no separator splits the first line and the rows alike, but `delimiter` splits every sampled line after
   * the first into the same `rowFields` (more than one) fields, and the first line into `firstFields`: a header with a
   * column the rows lack (or the other way round), not a one-column file.
   */
  mismatch?: { firstFields: number; rowFields: number };
}

interface Candidate {
  delimiter: Delimiter;
  /** Sampled lines with the most common field count. */
  agreeing: number;
  fields: number;
  /** The first line (a header, or the first row) has the most common field count. */
  firstAgrees: boolean;
  /** No sampled line holds the separator. */
  absent: boolean;
  /** Columns that hold a number in every agreeing row after the first line (a header's place). */
  numericColumns: number;
  commaDecimals: number;
  pointDecimals: number;
  /** The fields of the first line, or null for a misplaced quote. */
  firstFields: number | null;
  /** The field count every sampled line after the first has, or null (they differ, one has a misplaced quote, none). */
  rowFields: number | null;
}

function candidate(lines: readonly string[], delimiter: Delimiter): Candidate {
  const rows = lines.map((l) => splitFields(l, delimiter));
  const counts = new Map<number, number>();
  for (const r of rows) if (r !== null) counts.set(r.length, (counts.get(r.length) ?? 0) + 1);
  let fields = 0;
  let agreeing = 0;
  // the most common count; more fields wins a tie
  for (const [k, c] of counts) if (c > agreeing || (c === agreeing && k > fields)) [fields, agreeing] = [k, c];
  const data = rows.length > 1 ? rows.slice(1) : rows;
  const numeric = new Array<boolean>(fields).fill(true);
  let commaDecimals = 0;
  let pointDecimals = 0;
  for (const r of data) {
    if (r === null || r.length !== fields) continue;
    for (let c = 0; c < fields; c++) {
      const f = r[c]!.trim();
      if (parseNumber(f, delimiter !== ",") === null) numeric[c] = false;
      if (DECIMAL_COMMA.test(f)) commaDecimals++;
      else if (DECIMAL_POINT.test(f)) pointDecimals++;
    }
  }
  const rest = rows.slice(1);
  const rowFields = rest.length > 0 && rest.every((r) => r !== null && r.length === rest[0]!.length) ? rest[0]!.length : null;
  return {
    delimiter,
    agreeing,
    fields,
    firstAgrees: rows[0]?.length === fields,
    firstFields: rows[0]?.length ?? null,
    rowFields,
    absent: lines.every((l) => !l.includes(delimiter)),
    numericColumns: numeric.filter(Boolean).length,
    commaDecimals,
    pointDecimals,
  };
}

const better = (c: Candidate, best: Candidate | null): boolean =>
  best === null ||
  c.agreeing > best.agreeing ||
  (c.agreeing === best.agreeing && (c.numericColumns > best.numericColumns || (c.numericColumns === best.numericColumns && c.fields > best.fields)));

/**
 * The separator of a delimited file from its first non-blank lines (at most DELIMITER_SAMPLE_LINES, header first).
 * A candidate splits the file when its most common field count is above 1 and the first line (the header) has it;
 * among those, the one under which the most lines have that count wins, then the one with the most numeric columns,
 * then the most fields, then DELIMITERS' order (papaparse ranks by the spread of the field counts, then by the
 * count). When none splits the file, but one splits every line after the first alike into more than one field (and
 * they are not numbers with a decimal comma), the first line disagrees with the rows: that separator is returned with
 * the `mismatch`, for the reader to say so rather than read one column of rows that are no numbers. Else the file has
 * one column: the first separator found in no line is used, so every line is one field (and "0,734" in such a file is
 * a decimal comma). Cost: O(sample size x candidates).
 */
export function detectDelimiter(lines: readonly string[]): DelimiterGuess {
  if (lines.length === 0) throw new RangeError("detectDelimiter needs at least one line");
  const candidates = DELIMITERS.map((d) => candidate(lines, d));
  let best: Candidate | null = null;
  for (const c of candidates) if (c.fields > 1 && c.firstAgrees && better(c, best)) best = c;
  if (best === null) {
    // "score" then "0,5" lines: one column of decimal commas, which a comma splits alike after the header
    const commaDecimalRows = lines.slice(1).every((l) => isDecimalComma(l));
    const split = candidates.find(
      (c) =>
        c.rowFields !== null &&
        c.rowFields > 1 &&
        c.firstFields !== null &&
        c.firstFields !== c.rowFields &&
        !(c.delimiter === "," && commaDecimalRows),
    );
    if (split !== undefined)
      return {
        delimiter: split.delimiter,
        decimalComma: hasDecimalComma(split),
        mismatch: { firstFields: split.firstFields!, rowFields: split.rowFields! },
      };
  }
  // one column: a separator that no line holds (a comma, if every candidate appears somewhere: the bad rows will say)
  const b = best ?? candidates.find((c) => c.absent) ?? candidates.find((c) => c.delimiter === ",")!;
  return { delimiter: b.delimiter, decimalComma: hasDecimalComma(b) };
}
