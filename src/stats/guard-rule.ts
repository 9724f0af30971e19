/**
 * What a guarded, abstaining gate does to one query's candidates: the rule every client applies and the server's
 * statistics count. docs/methods.md, "Guards and abstention", states it in words; fixtures/guarded-gate.json holds the
 * vectors that the TypeScript SDK, the Python client and this module must all agree on.
 *
 * 1. A candidate is scored when its score is a number other than NaN (Infinity counts); the others are unscored.
 * 2. Scored candidates are ranked by score, highest first; equal scores keep their input order (the earlier ranks
 *    higher). Unscored candidates take no rank and do not count towards minKeep (maxKeep caps them: rule 5).
 * 3. Abstention: when `abstainBelow` is set and the query has at least one scored candidate whose highest score is
 *    strictly below it, the query abstains: every candidate is withheld (kept is empty). A query without a scored
 *    candidate never abstains: there is no score to judge it by.
 * 4. Otherwise the scored candidate of rank r is kept iff r <= maxKeep (no cap when null) and (r <= minKeep, or there
 *    is no threshold, or score >= threshold). The kept candidates are therefore always the top ranks of the query:
 *    min(maxKeep, max(min(minKeep, m), c)) of them, c the candidates at or above the threshold.
 * 5. Unscored candidates are kept, or dropped with `unscored: "drop"` when the gate drops anything (a threshold or a
 *    cap is set). A cap counts them: kept unscored candidates (in input order) fill only the room the scored ones
 *    leave, so a query never keeps more than maxKeep candidates.
 *
 * `dropped` and `below` describe the candidate gate before abstention (what an observation reports, so the drop-rate
 * test keeps watching the threshold on every query): `dropped` the candidates it drops, `below` the scored candidates
 * strictly below the threshold (what the threshold alone would drop).
 *
 * Pure and dependency-free (the SDK bundles it). Cost O(m log m) for m candidates (the ranking sort).
 */

/** What the served calibration says a gate does; fields at their neutral value (0, null) turn a guard off. */
export interface GuardPolicy {
  /** Keep iff score >= threshold (null: every scored candidate passes it). */
  readonly threshold: number | null;
  /** Keep at least the top minKeep scored candidates of every query (all of a shorter one); 0 turns it off. */
  readonly minKeep: number;
  /** Keep at most maxKeep candidates of any query; null: no cap. */
  readonly maxKeep: number | null;
  /** The query abstains when its top score is below this; null: never. */
  readonly abstainBelow: number | null;
}

export interface QueryDecision {
  /** One entry per candidate, in input order: true when it is kept. All false when the query abstains. */
  readonly kept: boolean[];
  readonly abstain: boolean;
  /** The highest score of the query; null without a scored candidate. */
  readonly topScore: number | null;
  /** Candidates the candidate gate drops (unscored ones included), whether or not the query abstains. */
  readonly dropped: number;
  /** The scored candidates among `dropped`: what an observation reports beside its unscored count. */
  readonly droppedScored: number;
  /** Scored candidates strictly below the threshold (0 without one). */
  readonly below: number;
  readonly unscored: number;
}

/** True when a score takes part in the ranking (a number other than NaN). */
export function isScored(s: unknown): s is number {
  return typeof s === "number" && !Number.isNaN(s);
}

/**
 * Applies the rule to one query. `scores` holds each candidate's score in input order (null, undefined or NaN:
 * unscored). Throws RangeError for a policy that breaks its own invariants (negative or fractional guards, a cap below
 * the floor): clients validate what they serve, this is the last line.
 */
export function decideQuery(scores: ArrayLike<unknown>, policy: GuardPolicy, unscoredMode: "keep" | "drop" = "keep"): QueryDecision {
  const { threshold, minKeep, maxKeep, abstainBelow } = policy;
  if (!Number.isInteger(minKeep) || minKeep < 0) throw new RangeError(`decideQuery: minKeep=${minKeep}`);
  if (maxKeep !== null && (!Number.isInteger(maxKeep) || maxKeep < 1 || maxKeep < minKeep)) {
    throw new RangeError(`decideQuery: maxKeep=${maxKeep} with minKeep=${minKeep}`);
  }
  const m = scores.length;
  const order: number[] = [];
  let top: number | null = null;
  let below = 0;
  for (let i = 0; i < m; i++) {
    const s = scores[i];
    if (!isScored(s)) continue;
    order.push(i);
    if (top === null || s > top) top = s;
    if (threshold !== null && s < threshold) below++;
  }
  // Highest first; Array.prototype.sort is stable, so equal scores keep their input order. The comparator avoids
  // subtraction, which gives NaN for two equal infinities.
  order.sort((a, b) => {
    const x = scores[a] as number;
    const y = scores[b] as number;
    return x > y ? -1 : x < y ? 1 : 0;
  });
  const kept = new Array<boolean>(m).fill(false);
  const cap = maxKeep ?? Infinity;
  let keptScored = 0;
  order.forEach((i, r) => {
    const rank = r + 1;
    kept[i] = rank <= cap && (rank <= minKeep || threshold === null || (scores[i] as number) >= threshold);
    if (kept[i]) keptScored++;
  });
  const unscored = m - order.length;
  const dropsUnscored = unscoredMode === "drop" && (threshold !== null || maxKeep !== null);
  // A cap counts unscored candidates too: they fill, in input order, only the room the scored ones leave.
  let room = cap - keptScored;
  for (let i = 0; i < m; i++) {
    if (isScored(scores[i])) continue;
    kept[i] = !dropsUnscored && room > 0;
    if (kept[i]) room--;
  }
  let dropped = 0;
  for (const k of kept) if (!k) dropped++;
  const abstain = abstainBelow !== null && top !== null && top < abstainBelow;
  return { kept: abstain ? kept.fill(false) : kept, abstain, topScore: top, dropped, droppedScored: order.length - keptScored, below, unscored };
}
