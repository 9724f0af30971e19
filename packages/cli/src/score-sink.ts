/**
 * Where the score-file readers (csv-rows.ts, jsonl-rows.ts, read-scores.ts) put each row: its score, its label, its
 * query and the query's answerable flag, in growable typed arrays; and the bad rows, counted, the first MAX_PROBLEMS
 * of them with their line numbers for the message. Past MAX_SCORES scores it refuses the file as over the size limit
 * (the server's).
 */
import { MAX_SCORES } from "../../../src/contract";
import { ANSWERABLE_VALUES, AnswerableFlags, answerableText, parseAnswerable } from "./answerable";
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
  /** Scores past the limit (refused, and counted), and the line of the first of them. */
  #overLimit = 0;
  #firstOverLine = 0;
  readonly #maxScores: number;

  /**
   * `labels`: a label comes with every score; `answerable`: a flag comes with every query's rows; `maxScores`: the
   * most scores one upload may hold (the server's MAX_SCORES).
   */
  constructor(labels: boolean, answerable: boolean, maxScores: number = MAX_SCORES) {
    this.#labels = labels ? floats() : null;
    this.#answerable = answerable ? new AnswerableFlags() : null;
    this.#maxScores = maxScores;
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

  /**
   * Keeps a score (and its label when labels are read); false once the limit's scores are kept (those past it are
   * counted, and refuse the file: refuseBadRows).
   */
  addScore(x: number, lineNumber: number, label: number | null = null): boolean {
    if (this.#scores.length === this.#maxScores) {
      if (this.#overLimit++ === 0) this.#firstOverLine = lineNumber;
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

  /**
   * Throws a file over the size limit as such (with its bad rows, if any, as its problems), else its bad rows, if any,
   * as one InputError naming the file (`name`) and quoting the first of them.
   */
  refuseBadRows(name: string): void {
    const n = this.#badRows;
    const bad = `${count(n)} bad row${n === 1 ? "" : "s"}`;
    if (this.#overLimit > 0) {
      const scores = this.#scores.length + this.#overLimit;
      throw new InputError(
        `${name} is over the size limit: ${count(scores)} scores, and one calibration takes at most ${count(this.#maxScores)} (line ${this.#firstOverLine} is the first past it): calibrate on a random sample of it (of whole queries, when it has them)${n > 0 ? `; it also has ${bad}` : ""}`,
        this.#problems,
      );
    }
    if (n > 0) throw new InputError(`${bad} in ${name}: fix or remove ${n === 1 ? "it" : "them"}`, this.#problems);
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
