/**
 * The "Unscored" column of the gate page's hourly and daily tables: the candidates services reported without a score
 * (the fifth count of a query, docs/drift.md) and their share of the reported candidates, scored and unscored. The
 * drift tests and every other rate of those tables read the scored candidates only, so this column is where an
 * on-call engineer sees in which hour or window candidates started arriving without a score. Shown only when some
 * row has one: a gate whose services never send them keeps its tables as they were.
 */
import { count, pct } from "../charts/scale";
import type { Column } from "./table";

/** A row's unscored count and the scored candidates beside it. */
export interface UnscoredCounts {
  readonly unscored: number;
  readonly scored: number;
}

/** "300 (30.0 %)": the count and its share of the reported candidates; "0" when every one had a score. */
export function unscoredCell({ unscored, scored }: UnscoredCounts): string {
  return unscored === 0 ? "0" : `${count(unscored)} (${pct(unscored / (unscored + scored))})`;
}

/** The column, or none when no row has an unscored candidate. */
export function unscoredColumns<R>(rows: readonly R[], counts: (row: R) => UnscoredCounts): Column<R>[] {
  if (!rows.some((r) => counts(r).unscored > 0)) return [];
  return [
    {
      header: (
        <>
          Unscored
          <br />
          candidates
        </>
      ),
      num: true,
      field: "unscored",
      cell: (r: R) => unscoredCell(counts(r)),
    },
  ];
}
