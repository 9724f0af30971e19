/**
 * Per-query cutoffs of other retrieval stacks, re-implemented for the side-by-side benchmark (bench/cutoff-compare.ts)
 * because neither ships as a JavaScript library: Haystack's `TopPSampler` is Python (torch), Weaviate's autocut runs
 * inside the database (Go). Each takes one query's scores and returns how many of its highest-scoring candidates it
 * keeps (both keep a prefix of the list sorted by score, highest first).
 */

/**
 * Haystack 2.x `TopPSampler(top_p, min_top_k)`: softmax over the scores sorted highest first, keep the candidates
 * whose cumulative probability is at most top_p (or within 1e-6 of it), then at least min_top_k, and at least one.
 */
export function topPKeep(sortedDesc: ArrayLike<number>, topP: number, minTopK: number): number {
  const m = sortedDesc.length;
  if (m === 0) return 0;
  const max = sortedDesc[0]!;
  let z = 0;
  for (let i = 0; i < m; i++) z += Math.exp(sortedDesc[i]! - max);
  let cum = 0;
  let kept = 0;
  for (let i = 0; i < m; i++) {
    cum += Math.exp(sortedDesc[i]! - max) / z;
    if (cum <= topP || Math.abs(cum - topP) <= 1e-6) kept++;
  }
  if (kept < minTopK) kept = Math.min(m, minTopK);
  return Math.max(1, kept);
}

/**
 * Weaviate's autocut with `autocut: jumps`: normalize the sorted scores to [0, 1] along the list, subtract the
 * straight line from the first to the last, and cut before the jumps-th local maximum of the difference (the first
 * big jump for jumps = 1). Lists of 0 or 1 keep everything; so does a constant list (the normalization divides by 0).
 */
export function autocutKeep(sortedDesc: ArrayLike<number>, jumps: number): number {
  const m = sortedDesc.length;
  if (m <= 1) return m;
  const first = sortedDesc[0]!;
  const span = sortedDesc[m - 1]! - first;
  const diff: number[] = [];
  for (let i = 0; i < m; i++) diff.push((sortedDesc[i]! - first) / span - i / (m - 1));
  let extrema = 0;
  for (let i = 1; i < m; i++) {
    const last = i === m - 1;
    // Weaviate compares the last point with the two before it; with two points there is no second one, and
    // undefined comparisons are false, as NaN comparisons are for a constant list.
    const peak = last ? diff[i]! > diff[i - 1]! && i >= 2 && diff[i]! > diff[i - 2]! : diff[i]! > diff[i - 1]! && diff[i]! > diff[i + 1]!;
    if (peak && ++extrema >= jumps) return i;
  }
  return m;
}
