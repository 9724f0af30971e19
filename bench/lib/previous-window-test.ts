/**
 * The per-window production test as it shipped before the change detector, kept only as the benchmarks' baseline:
 * Wald band for the empty-context rate (sd 0 when the calibration saw no empty query), the calibration's design
 * effect alone (1 for flat uploads), alarm at ln(2/a') once the window holds 100 queries, restart per window.
 */

import { logEvidence, priorFor, toleranceBand } from "../../src/stats/mixture-test";
import { type ClusterSums, designEffect } from "../../src/stats/per-query";
import { zInv } from "../../src/stats/special";

export interface PreviousExpectation {
  readonly expectedDropRate: number;
  readonly n: number;
  readonly designEffect: number;
  readonly emptyContextRate: number | null;
  readonly nQueries: number | null;
}

export function previousWindowAlarms(sums: Readonly<ClusterSums>, cal: PreviousExpectation, alpha = 0.001): { drop: boolean; empty: boolean } {
  const testsEmpty = cal.emptyContextRate !== null && cal.nQueries !== null;
  const a = testsEmpty ? alpha / 2 : alpha;
  const logThreshold = Math.log(2 / a);
  const armed = sums.queries >= 100;
  const deff = designEffect(sums);
  const band = toleranceBand(cal.expectedDropRate, cal.n / Math.max(1, cal.designEffect), 0.02, "both", zInv(1 - a / 4));
  const le = logEvidence(sums.dropped / deff, (sums.candidates - sums.dropped) / deff, band, priorFor(band));
  let empty = false;
  if (testsEmpty) {
    const eBand = toleranceBand(cal.emptyContextRate!, cal.nQueries!, 0.02, "upper", zInv(1 - a / 2));
    empty = armed && logEvidence(sums.empty, sums.queries - sums.empty, eBand, priorFor(eBand)) >= logThreshold;
  }
  return { drop: armed && le >= logThreshold, empty };
}
