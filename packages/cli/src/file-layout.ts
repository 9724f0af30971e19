/**
 * The layout of a score file before its rows are read: its format (from the file name, else from the first line) and
 * which column a flag names (by header name, or by 1-based position).
 */
import { parseNumber } from "./delimiter";
import { InputError } from "./input-error";

export type Format = "csv" | "tsv" | "jsonl" | "text";
export const FORMATS: readonly Format[] = ["csv", "tsv", "jsonl", "text"];

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
