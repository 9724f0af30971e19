/**
 * Where the score-file readers (csv-rows.ts, jsonl-rows.ts, read-scores.ts) put each row: its score, its label, its
 * query and the query's answerable flag, in growable typed arrays; and the bad rows, counted, the first MAX_PROBLEMS
 * of them with their line numbers for the message. Past MAX_SCORES rows it refuses the file (the server's limit).
 */
import { MAX_SCORES } from "../../../src/contract";
import { AnswerableFlags, ANSWERABLE_VALUES, answerableText, parseAnswerable } from "./answerable";
import { count } from "./format";
import { InputError } from "./input-error";
import { floats, groupByQuery, uints } from "./query-groups";

/** Bad rows quoted in the message; the rest are only counted. */
const MAX_PROBLEMS = 10;

/** The rows of a file as the reader returns them (ScoreFile's fields of the same names). */
export interface SinkRows {
  scores: Float64Array;
  offsets: Uint32Array | null;
  labels: Float64Array | null;
  answerable: boolean[] | null;
}

export class ScoreSink {
  readonly #scores = floats();
  // labels[i] belongs to scores[i]: a label is pushed exactly when its score is
  readonly #labels: ReturnType<typeof floats> | null;
  readonly #answerable: AnswerableFlags | null;
  readonly #rowQuery = uints();
  readonly #queryIds = new Map<string, number>();
  readonly #problems: string[] = [];
  #badRows = 0;
  #tooMany = false;

  /** `labels`: a label comes with every score; `answerable`: a flag comes with every query's rows. */
  constructor(labels: boolean, answerable: boolean) {
    this.#labels = labels ? floats() : null;
    this.#answerable = answerable ? new AnswerableFlags() : null;
  }

  /** Scores kept so far. */
  get length(): number {
    return this.#scores.length;
  }

  /** Distinct queries so far. */
  get queries(): number {
    return this.#queryIds.size;
  }

  /** Records a bad row; returns false so that a line handler can `return sink.bad(...)`. */
  bad(lineNo: number, msg: string): false {
    this.#badRows++;
    if (this.#problems.length < MAX_PROBLEMS) this.#problems.push(`line ${lineNo}: ${msg}`);
    return false;
  }

  /** Keeps a score (and its label when labels are read); false once MAX_SCORES are kept (the first refused is a bad row). */
  addScore(x: number, lineNumber: number, label: number | null = null): boolean {
    if (this.#scores.length === MAX_SCORES) {
      if (!this.#tooMany) this.bad(lineNumber, `more than ${count(MAX_SCORES)} scores: the server accepts at most that many in one calibration`);
      this.#tooMany = true;
      return false;
    }
    this.#scores.push(x);
    if (this.#labels !== null) this.#labels.push(label!);
    return true;
  }

  /** Adds the row to its query, and its answerable flag (when read: `flag` non-null) to the query's. */
  addQuery(key: string, no: number, flag: boolean | null = null): void {
    let id = this.#queryIds.get(key);
    if (id === undefined) {
      id = this.#queryIds.size;
      this.#queryIds.set(key, id);
    }
    this.#rowQuery.push(id);
    const disagrees = flag === null ? null : this.#answerable!.observe(id, key, flag, no);
    if (disagrees !== null) this.bad(no, disagrees);
  }

  /** A row's answerable flag; undefined after recording the row as bad, naming its value (undefined `raw`: missing). */
  flagOf(raw: unknown, no: number, where: string): boolean | undefined {
    const flag = parseAnswerable(raw);
    if (flag !== null) return flag;
    this.bad(no, `the answerable flag ${where}is ${answerableText(raw)}, not ${ANSWERABLE_VALUES}`);
    return undefined;
  }

  /** Throws the bad rows, if any, as one InputError naming the file (`name`) and quoting the first of them. */
  refuseBadRows(name: string): void {
    const n = this.#badRows;
    if (n > 0) throw new InputError(`${count(n)} bad row${n === 1 ? "" : "s"} in ${name}: fix or remove them`, this.#problems);
  }

  /**
   * The rows kept: flat, or with `grouped` sorted by query (queries in order of first appearance, groupByQuery), with
   * `column` naming the query column in its refusals; the answerable flags only for grouped rows.
   */
  rows(grouped: boolean, column: string): SinkRows {
    const labels = this.#labels;
    let scores = this.#scores.data.subarray(0, this.#scores.length);
    let outLabels = labels === null ? null : labels.data.subarray(0, labels.length);
    let offsets: Uint32Array | null = null;
    if (grouped) ({ scores, labels: outLabels, offsets } = groupByQuery(scores, outLabels, this.#rowQuery.data, this.#queryIds, column));
    const answerable = this.#answerable === null || offsets === null ? null : this.#answerable.done(offsets.length - 1);
    return { scores, offsets, labels: outLabels, answerable };
  }
}
