/**
 * The rows of a gate's activation log the gate page needs for its series' range: the newest row before the range
 * (whose `served` state is the gate's at the range's start: served calibration, split, shadows) and every row from the
 * range's start on. A busy gate's log holds thousands of rows; reading only its oldest would leave the recent hours,
 * the ones an on-call engineer looks at, unnamed.
 *
 * The store reads a gate's rows after a seq, oldest first (CalibrationStore.events); seqs are the database's order
 * across all gates, so the range's first row is found by bisection on seq (one single-row read a step, about log2 of
 * the newest seq, 30 steps for a billion rows) and the range is then read forward a page at a time. A gate whose whole
 * log fits in one page costs one read, as before.
 */
import { LOG_PAGE_ROWS } from "../../calibrations/log-pages";
import type { GateEvent } from "../../contract";
import type { DashboardDeps } from "../deps";

/** Rows of a gate's log read per query: the page every whole-log reader uses (src/calibrations/log-pages.ts). */
export const GATE_LOG_PAGE_ROWS = LOG_PAGE_ROWS;

/**
 * Most pages of the range read forward: 10,000 rows, more than one gate changes in a month of a promotion a day. A range
 * with more rows is read up to the last row read, and the page names no traffic after it (RangeLog.readTo).
 */
export const GATE_LOG_RANGE_PAGES = 10;

export interface RangeLog {
  /** The newest row before the range (null: none, or the whole log was read into `events`). */
  readonly before: GateEvent | null;
  /** The rows from the range's start on (the whole log when it fits in one page), oldest first. */
  readonly events: GateEvent[];
  /** Null when the log was read to its newest row; else the time of the last row read (GATE_LOG_RANGE_PAGES). */
  readonly readTo: string | null;
}

type EventReader = Pick<DashboardDeps["calibrations"], "events">;

/**
 * The log rows covering [from, now) of the gate whose newest row has seq `headSeq` (GateState.headSeq). Assumes a
 * gate's rows are in time order as they are in seq order (each is written after the one before it: calibrations/store.ts append).
 */
export async function logForRange(gateId: string, from: string, headSeq: number, store: EventReader): Promise<RangeLog> {
  const first = await store.events(gateId, 0, GATE_LOG_PAGE_ROWS);
  if (first.length < GATE_LOG_PAGE_ROWS) return { before: null, events: first, readTo: null };
  // Bisection: `lo` is a row before the range (0: none known); every row after seq `hi` is in the range.
  let lo: GateEvent | null = null;
  let hi = headSeq;
  const lastOfFirst = first[first.length - 1]!;
  if (lastOfFirst.at < from) lo = lastOfFirst;
  else hi = 0;
  while (hi - (lo?.seq ?? 0) > 1) {
    const mid = Math.floor(((lo?.seq ?? 0) + hi) / 2);
    const [next] = await store.events(gateId, mid, 1);
    if (next === undefined || next.at >= from) hi = mid;
    else if (next.seq >= hi)
      break; // a row out of time order: read on from the latest row known to be before
    else lo = next;
  }
  // Forward from `lo` (or from the log's first page): the first rows may still be before the range (seq `hi` itself).
  const read: GateEvent[] = [];
  let after = lo?.seq ?? 0;
  let full = true;
  for (let page = 0; page < GATE_LOG_RANGE_PAGES && full; page += 1) {
    const rows = after === 0 ? first : await store.events(gateId, after, GATE_LOG_PAGE_ROWS);
    read.push(...rows);
    full = rows.length === GATE_LOG_PAGE_ROWS;
    after = rows[rows.length - 1]?.seq ?? after;
  }
  const candidates = lo === null ? read : [lo, ...read];
  const k = candidates.findLastIndex((e) => e.at < from);
  return {
    before: k < 0 ? null : candidates[k]!,
    events: candidates.slice(k + 1),
    readTo: full ? (read[read.length - 1]?.at ?? null) : null,
  };
}
