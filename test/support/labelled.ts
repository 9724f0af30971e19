/** Simulated labelled calibration queries (seeded): relevant candidates score higher, with a per-query effect. */
import { createRng } from "./prng";

export interface LabelledQuery {
  readonly scores: number[];
  readonly relevance: number[];
}

/** q queries of m candidates, each relevant with probability pRel (at least one relevant per query unless noneShare hits). */
export function labelledQueries(seed: number, q: number, m = 20, pRel = 0.15, gap = 2, noneShare = 0): LabelledQuery[] {
  const rng = createRng(seed);
  const out: LabelledQuery[] = [];
  for (let i = 0; i < q; i++) {
    const base = rng.normal();
    const none = rng.next() < noneShare;
    const relevance = Array.from({ length: m }, () => (!none && rng.next() < pRel ? 1 : 0));
    if (!none && !relevance.includes(1)) relevance[0] = 1;
    const scores = relevance.map((r) => 1 / (1 + Math.exp(-(base + gap * r + rng.normal()))));
    out.push({ scores, relevance });
  }
  return out;
}

/**
 * n judged queries of 5 candidates, one relevant; the relevant one clears threshold t in a share `coverage` of them,
 * spread evenly (deterministic). `offset` shifts the small spread of the kept relevant scores.
 */
export function judged(n: number, t: number, coverage: number, offset = 0): LabelledQuery[] {
  let acc = 0;
  return Array.from({ length: n }, (_, i) => {
    acc += coverage;
    const kept = acc >= 1 - 1e-9;
    if (kept) acc -= 1;
    const rel = kept ? t + 0.05 + 0.001 * ((i + offset) % 7) : t - 0.05;
    return { scores: [rel, t - 0.2, t + 0.1, t - 0.3, t - 0.1], relevance: [1, 0, 0, 0, 0] };
  });
}
