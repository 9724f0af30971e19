/**
 * The calibration each flag last answered with, per gate: what lets the provider announce a flag's change once. A
 * `resolveGate` that maps evaluation contexts to many gates makes one entry per flag and gate, so the memory is
 * bounded: past MAX_REMEMBERED_FLAG_GATES entries the least recently evaluated goes first. A forgotten flag's next
 * evaluation is its first again (no event), and a pushed change of its gate no longer names it until it is evaluated.
 */

/**
 * At most this many flag × gate pairs are remembered, as many as the client caches gates by default (`maxGates`):
 * a gate the client forgot is fetched anew anyway.
 */
export const MAX_REMEMBERED_FLAG_GATES = 1000;

/** A Map kept in order of last evaluation (re-inserted on use), so its first key is the least recently evaluated. */
export class ServedMemory {
  readonly #entries = new Map<string, string | null>();
  readonly #max: number;

  /** Throws RangeError for a bound that is not a positive integer. */
  constructor(max: number = MAX_REMEMBERED_FLAG_GATES) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the bound must be a positive integer (got ${max})`);
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): string | null | undefined {
    return this.#entries.get(key);
  }

  /** The calibration `key` answered with on an evaluation: it becomes the most recently evaluated. */
  evaluated(key: string, calibrationId: string | null): void {
    this.#entries.delete(key);
    this.#set(key, calibrationId);
  }

  /** The calibration `key`'s gate serves now, learnt without an evaluation: its place in the order is kept. */
  changed(key: string, calibrationId: string | null): void {
    this.#set(key, calibrationId);
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  #set(key: string, calibrationId: string | null): void {
    this.#entries.set(key, calibrationId);
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}
