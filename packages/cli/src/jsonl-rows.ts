/**
 * The JSONL line reader: every line is a number (one score), an array of numbers (one query's candidates) or an
 * object with a score field (one candidate, with its query, label and answerable flag in other fields), the first
 * line saying which for the whole file; each line's rows go into the sink, or the line is recorded as bad.
 */
import { apiBodyError, apiBodyKind, curlUpload } from "./api-body";
import { parseNumber } from "./delimiter";
import { knownColumn, NO_QUERY_COLUMN, noPerRowColumn, QUERY_NAMES, SCORE_NAMES } from "./file-layout";
import { InputError } from "./input-error";
import { QueryColumnSniffer } from "./query-column";
import type { ReadOptions } from "./score-file";
import type { ScoreSink } from "./score-sink";

type Kind = "number" | "array" | "object";

/** What a JSONL object holding a query's scores in an array should be instead. */
const ONE_QUERY_PER_LINE =
  ': a line with one query\'s scores is the bare array ([0.91, 0.42, 0.07]); an object is one candidate ({"query_id": "q1", "score": 0.91})';

/**
 * Why a score written as a JSON string is refused, and the number to write instead when the string holds one (a
 * decimal comma read as a point): "0.42" quoted is a common export bug.
 */
function stringScore(s: string): string {
  const x = parseNumber(s.trim(), true);
  return `the string ${JSON.stringify(s)}: scores are JSON numbers, written without quotes${x === null ? "" : ` (${x})`}`;
}

/** A JSON field's value as the query-column sniff compares it: strings and numbers, nothing else. */
const primitive = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);

export class JsonlRows {
  readonly #sink: ScoreSink;
  readonly #opts: ReadOptions;
  /** The flag naming a per-row field (perRowFlag), refused unless the lines are objects. */
  readonly #perRowFlag: string | null;
  #kind: Kind | null = null;
  #scoreKey: string | null = null;
  #queryKey: string | null = null;
  #labelKey: string | null = null;
  // set while no query field is named or recognised (and --no-query-column is not given): one that looks like one
  #sniffer: QueryColumnSniffer | null = null;
  #sniffedKeys: string[] = [];
  /** Lines read, and those that were not JSON at all. */
  #lines = 0;
  #notJson = 0;

  /** The file's name for messages ("stdin" for a stream). */
  readonly #name: string;

  constructor(sink: ScoreSink, opts: ReadOptions, perRowFlag: string | null, name: string) {
    this.#sink = sink;
    this.#opts = opts;
    this.#perRowFlag = perRowFlag;
    this.#name = name;
  }

  /** What the lines are, from the first valid one; null before it. */
  get kind(): Kind | null {
    return this.#kind;
  }

  /** The field of the score in objects; null for other lines. */
  get scoreKey(): string | null {
    return this.#scoreKey;
  }

  /** The field of the query in objects, named or recognised; else null. */
  get queryKey(): string | null {
    return this.#queryKey;
  }

  /** The field of the label in objects (--label-column); else null. */
  get labelKey(): string | null {
    return this.#labelKey;
  }

  /** The field that looks like a query id although none was named (query-column.ts), or null. */
  suspect(): string | null {
    return this.#sniffer?.suspect() ?? null;
  }

  /** No line was JSON: the file is not JSONL at all (a CSV named .jsonl, or --format jsonl on one). */
  get noJson(): boolean {
    return this.#lines > 0 && this.#notJson === this.#lines;
  }

  /** One non-blank, trimmed line, numbered `lineNo` in the file. */
  line(line: string, lineNo: number): void {
    const sink = this.#sink;
    const opts = this.#opts;
    let v: unknown;
    this.#lines++;
    try {
      v = JSON.parse(line);
    } catch {
      // a JSON document written over several lines (jq's, an editor's): JSONL is one value per line
      if (this.#lines === 1 && line === "{")
        throw new InputError(
          `${this.#name} is one JSON object written over several lines (line ${lineNo} is "{"), not JSONL (one score, query array or candidate object per line)`,
          [
            `if it is an API request body (with "policy" and "queries" or "scores"), send it with curl: ${curlUpload(this.#name, "application/json", "--data")}; this command reads scores (CSV, TSV, JSONL or one per line)`,
          ],
        );
      this.#notJson++;
      // Python's json.dumps writes NaN and Infinity, which JSON has no words for
      const nonFinite = /(?<![\w"])-?(?:NaN|Infinity)(?![\w"])/u.test(line);
      sink.bad(lineNo, `is not valid JSON${nonFinite ? " (NaN and Infinity are not JSON, and a score must be a finite number)" : ""}`);
      return;
    }
    const kind = typeof v === "number" ? "number" : Array.isArray(v) ? "array" : typeof v === "object" && v !== null ? "object" : null;
    if (kind === null) {
      if (typeof v === "string" && (this.#kind === null || this.#kind === "number")) {
        sink.bad(lineNo, `is ${stringScore(v)}`);
        return;
      }
      sink.bad(lineNo, "must be a number, an array of numbers (one query) or an object with a score field");
      return;
    }
    if (this.#kind === null) {
      this.#kind = kind;
      if (kind !== "object" && this.#perRowFlag !== null)
        throw noPerRowColumn(this.#perRowFlag, `a JSONL file of ${kind === "array" ? "arrays" : "numbers"}`);
      if (kind === "object") this.#startObjects(v as Record<string, unknown>, lineNo);
    } else if (kind !== this.#kind) {
      const jsonlKind = this.#kind;
      sink.bad(lineNo, `is ${kind === "array" ? "an array" : `a${kind === "object" ? "n" : ""} ${kind}`}, earlier lines are ${jsonlKind}s`);
      return;
    }
    if (kind === "number") {
      if (!Number.isFinite(v)) {
        sink.bad(lineNo, "is not a finite number");
        return;
      }
      sink.addScore(v as number, lineNo);
    } else if (kind === "array") {
      const arr = v as unknown[];
      if (arr.length === 0) {
        sink.bad(lineNo, "an empty query: a query needs at least one candidate score");
        return;
      }
      const at = arr.findIndex((x) => typeof x !== "number" || !Number.isFinite(x));
      if (at >= 0) {
        const entry = arr[at];
        const why = typeof entry === "string" ? `: its entry ${at + 1} is ${stringScore(entry)}` : "";
        sink.bad(lineNo, `a query must be an array of finite numbers${why}`);
        return;
      }
      const id = `\u0000${lineNo}`;
      for (const x of arr as number[]) if (sink.addScore(x, lineNo)) sink.addQuery(id, lineNo);
    } else {
      const o = v as Record<string, unknown>;
      const scoreKey = this.#scoreKey!;
      const s = o[scoreKey];
      const x = typeof s === "number" ? s : typeof s === "string" ? parseNumber(s.trim()) : null;
      if (x === null || !Number.isFinite(x)) {
        sink.bad(
          lineNo,
          `field ${JSON.stringify(scoreKey)} is ${s === undefined ? "missing" : Array.isArray(s) ? `an array${ONE_QUERY_PER_LINE}` : typeof s === "string" ? `not a finite number: ${stringScore(s)}` : "not a finite number"}`,
        );
        return;
      }
      let label: number | null = null;
      const labelKey = this.#labelKey;
      if (labelKey !== null) {
        const l = o[labelKey];
        label = typeof l === "number" ? l : typeof l === "string" ? parseNumber(l.trim()) : null;
        if (label === null || !Number.isFinite(label)) {
          sink.bad(lineNo, `field ${JSON.stringify(labelKey)} (the label) is ${l === undefined ? "missing" : "not a finite number"}`);
          return;
        }
      }
      const queryKey = this.#queryKey;
      if (queryKey !== null) {
        const q = o[queryKey];
        if (q === undefined || q === null || q === "") {
          sink.bad(lineNo, `field ${JSON.stringify(queryKey)} (the query) is missing`);
          return;
        }
        const key = opts.answerableColumn;
        const flag = key === undefined ? null : sink.flagOf(o[key], lineNo, `(field ${JSON.stringify(key)}) `);
        if (flag === undefined) return;
        if (sink.addScore(x, lineNo, label)) sink.addQuery(typeof q === "string" ? q : JSON.stringify(q), lineNo, flag);
      } else {
        if (this.#sniffer?.sniffing) this.#sniffer.observe(this.#sniffedKeys.map((k) => primitive(o[k])));
        sink.addScore(x, lineNo, label);
      }
    }
  }

  /** Chooses the score, query and label fields from the first object's keys and the options. */
  #startObjects(first: Record<string, unknown>, lineNo: number): void {
    const api = apiBodyKind(first);
    if (api !== null) throw apiBodyError(api, first, lineNo, this.#name);
    const keys = Object.keys(first);
    const opts = this.#opts;
    this.#labelKey = opts.labelColumn ?? null;
    const scoreKey = opts.scoreColumn ?? keys[knownColumn(keys, SCORE_NAMES, "score", "--score-column", "field")] ?? null;
    this.#scoreKey = scoreKey;
    if (scoreKey === null) {
      // {"scores": [0.9, 0.4]}: one query per line, written as the API's NDJSON body writes it
      const array = keys.find((k) => Array.isArray(first[k]));
      throw new InputError(
        array !== undefined
          ? `line ${lineNo}'s field ${JSON.stringify(array)} is an array${ONE_QUERY_PER_LINE}`
          : `which field holds the score? line ${lineNo} has ${keys.map((k) => JSON.stringify(k)).join(", ")}: pass --score-column NAME`,
      );
    }
    const queryKey =
      opts.queryColumn === ""
        ? null
        : (opts.queryColumn ?? keys[knownColumn(keys, QUERY_NAMES, "query", "--query-column", "field", NO_QUERY_COLUMN)] ?? null);
    this.#queryKey = queryKey;
    if (queryKey === null && opts.queryColumn === undefined && keys.length > 1) {
      this.#sniffer = new QueryColumnSniffer(keys, keys.length, keys.indexOf(scoreKey));
      this.#sniffedKeys = keys;
    }
  }
}
