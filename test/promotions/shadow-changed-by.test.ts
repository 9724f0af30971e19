// shadowChangedBy (src/promotions/shadows.ts) on a gate whose activation log spans several reads (LOG_PAGE_ROWS): the
// keyed request's event is searched from the newest row back and the search stops at it, so a retry moments after its
// change reads one page whatever the log's length; a request further back is still found, and one never logged is not.
import { describe, expect, it } from "vitest";
import { LOG_PAGE_ROWS } from "../../src/calibrations/log-pages";
import type { GateEvent } from "../../src/contract";
import type { PromotionDeps } from "../../src/promotions/deps";
import { shadowChangedBy } from "../../src/promotions/shadows";

const GATE = "gate_long_log";
const CAL = "cal_shadowed";
/** Three full pages and a part: four reads from either end. */
const ROWS = 3 * LOG_PAGE_ROWS + 17;

/** A rate change of the shadow made by keyed request `r-<seq>` (the log has no add, so the answer's set is empty). */
const changed = (seq: number): GateEvent => ({
  v: 1,
  seq,
  prev_seq: seq - 1,
  gate_id: GATE,
  kind: "shadow_changed",
  at: new Date(Date.UTC(2026, 10, 24) + seq * 1000).toISOString(),
  actor: "test",
  reason: null,
  calibration_id: CAL,
  served: null,
  promotion: null,
  details: { sample_rate: 0.2, request: `r-${seq}` },
});

/** The store's two log reads over ROWS rows, counted; `get` knows the one calibration. */
function deps() {
  const log = Array.from({ length: ROWS }, (_, i) => changed(i + 1));
  const reads = { newestFirst: 0, oldestFirst: 0 };
  const calibrations = {
    get: async (id: string) => (id === CAL ? { id: CAL, gate_id: GATE } : null),
    events: async (_gate: string, afterSeq: number, limit: number) => {
      reads.oldestFirst += 1;
      return log.filter((e) => e.seq > afterSeq).slice(0, limit);
    },
    eventsBefore: async (_gate: string, beforeSeq: number | null, limit: number) => {
      reads.newestFirst += 1;
      return log
        .filter((e) => beforeSeq === null || e.seq < beforeSeq)
        .reverse()
        .slice(0, limit);
    },
  };
  return { deps: { calibrations } as unknown as PromotionDeps, reads };
}

describe("shadowChangedBy on a long log", () => {
  it("finds a recent request's event in the newest page and reads no further back", async () => {
    const { deps: d, reads } = deps();
    const found = await shadowChangedBy(CAL, "rate", `r-${ROWS - 2}`, d);
    expect(found).toEqual({ gate_id: GATE, calibration_id: CAL, seq: ROWS - 2, shadows: [] });
    expect(reads.newestFirst).toBe(1);
  });

  it("finds the oldest row's request after reading every page back, and answers null for a request never logged", async () => {
    const first = deps();
    expect((await shadowChangedBy(CAL, "rate", "r-1", first.deps))?.seq).toBe(1);
    expect(first.reads.newestFirst).toBe(Math.ceil(ROWS / LOG_PAGE_ROWS));
    const none = deps();
    expect(await shadowChangedBy(CAL, "rate", "r-never", none.deps)).toBeNull();
    expect(none.reads.newestFirst).toBe(Math.ceil(ROWS / LOG_PAGE_ROWS));
    // a request's event of another kind is not the change asked about
    expect(await shadowChangedBy(CAL, "remove", `r-${ROWS}`, deps().deps)).toBeNull();
  });
});
