/**
 * A gate's whole activation log, read a page at a time, oldest first (logPages) or newest first (logPagesNewestFirst).
 * A busy gate's log holds thousands of rows (every activation, promotion step and shadow change); a reader that needs
 * what the whole log says (the shadow set, whether a calibration was ever served) folds it page by page, so memory
 * stays one page whatever the log's length; a reader that looks for a recent row reads from the newest and stops at it.
 */
import type { GateEvent } from "../contract";
import type { CalibrationStore } from "./store";

/** Rows of a gate's log read per query by `logPages`. */
export const LOG_PAGE_ROWS = 1000;

/** The gate's log after seq `afterSeq` (0: all of it), one page of at most `pageRows` rows at a time. */
export async function* logPages(
  store: Pick<CalibrationStore, "events">,
  gateId: string,
  afterSeq = 0,
  pageRows = LOG_PAGE_ROWS,
): AsyncGenerator<GateEvent[]> {
  for (let after = afterSeq; ; ) {
    const page = await store.events(gateId, after, pageRows);
    if (page.length > 0) yield page;
    if (page.length < pageRows) return;
    after = page.at(-1)!.seq;
  }
}

/**
 * The gate's log from its newest row back, one page of at most `pageRows` rows at a time, each page newest first: a
 * reader that stops at the first row it looks for reads only the pages after it (one, for a row written moments ago).
 */
export async function* logPagesNewestFirst(
  store: Pick<CalibrationStore, "eventsBefore">,
  gateId: string,
  pageRows = LOG_PAGE_ROWS,
): AsyncGenerator<GateEvent[]> {
  for (let before: number | null = null; ; ) {
    const page = await store.eventsBefore(gateId, before, pageRows);
    if (page.length > 0) yield page;
    if (page.length < pageRows) return;
    before = page.at(-1)!.seq;
  }
}
