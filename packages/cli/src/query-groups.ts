/**
 * The rows of a score file grouped into queries: growable typed arrays for the rows as they are read, and a stable
 * counting sort by query number at the end (rows of one query need not be contiguous in the file), with the server's
 * limits on queries and candidates per query checked on the way (InputError names the offending query).
 */
import { MAX_CANDIDATES_PER_QUERY, MAX_QUERIES } from "../../../src/contract";
import { count } from "./format";
import { InputError } from "./input-error";

/** The typed arrays the reader grows: Float64Array for scores and labels, Uint32Array for each row's query number. */
type Grown = Float64Array<ArrayBuffer> | Uint32Array<ArrayBuffer>;

/**
 * A growable typed array (doubling): the rows as they are read, never a JS array of a million numbers. `make` builds
 * the array type of a given length.
 */
class Growable<A extends Grown> {
  length = 0;
  constructor(
    public data: A,
    private readonly make: (n: number) => A,
  ) {}
  push(x: number): void {
    if (this.length === this.data.length) {
      const grown = this.make(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = x;
  }
}

const INITIAL_ROWS = 1 << 16;

/** Scores or labels as they are read. */
export const floats = (): Growable<Float64Array<ArrayBuffer>> => new Growable(new Float64Array(INITIAL_ROWS), (n) => new Float64Array(n));

/** Each row's query number as it is read. */
export const uints = (): Growable<Uint32Array<ArrayBuffer>> => new Growable(new Uint32Array(INITIAL_ROWS), (n) => new Uint32Array(n));

/**
 * Sorts `scores` (and `labels`, kept beside them) by each row's query number `rowQuery[i]` (0..queryIds.size - 1),
 * stably, and returns the offsets of each query's rows. `column` names the query column in the message for a query
 * with more candidates than the server accepts (is it really a query id?). O(rows + queries).
 */
export function groupByQuery(
  scores: Float64Array,
  labels: Float64Array | null,
  rowQuery: Uint32Array,
  queryIds: ReadonlyMap<string, number>,
  column: string,
): { scores: Float64Array<ArrayBuffer>; labels: Float64Array<ArrayBuffer> | null; offsets: Uint32Array<ArrayBuffer> } {
  const q = queryIds.size;
  if (q > MAX_QUERIES) throw new InputError(`${count(q)} queries: the server accepts at most ${count(MAX_QUERIES)} in one calibration`);
  const offsets = new Uint32Array(q + 1);
  for (let i = 0; i < scores.length; i++) offsets[rowQuery[i]! + 1]!++;
  let largest = 0;
  for (let j = 0; j < q; j++) {
    const c = offsets[j + 1]!;
    if (c > largest) largest = c;
    offsets[j + 1] = offsets[j]! + c;
  }
  if (largest > MAX_CANDIDATES_PER_QUERY) {
    const [key] = [...queryIds].find(([, id]) => offsets[id + 1]! - offsets[id]! === largest)!;
    throw new InputError(
      `query ${JSON.stringify(key.startsWith("\u0000") ? `on line ${key.slice(1)}` : key)} has ${count(largest)} candidates; the server accepts at most ${count(MAX_CANDIDATES_PER_QUERY)} per query: is ${column} really a query id?`,
    );
  }
  const cursor = offsets.slice(0, q);
  const sorted = new Float64Array(scores.length);
  const sortedLabels = labels === null ? null : new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const at = cursor[rowQuery[i]!]!++;
    sorted[at] = scores[i]!;
    if (sortedLabels !== null) sortedLabels[at] = labels![i]!;
  }
  return { scores: sorted, labels: sortedLabels, offsets };
}
