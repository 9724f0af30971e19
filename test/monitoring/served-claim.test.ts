/**
 * everServed (src/monitoring/served-claim.ts) over stores in small: the served projection answers the usual batch
 * without reading the log, and the log is read page by page (LOG_PAGE_ROWS, src/calibrations/log-pages.ts) to its end.
 */
import { describe, expect, it } from "vitest";
import { LOG_PAGE_ROWS as SERVED_LOOKUP_PAGE_ROWS } from "../../src/calibrations/log-pages";
import type { GateEvent } from "../../src/contract";
import type { BatchTarget } from "../../src/monitoring/batch-target";
import type { MonitoringDeps } from "../../src/monitoring/deps";
import { everServed } from "../../src/monitoring/served-claim";
import { AppError } from "../../src/platform/errors";

const target = (calibrationId: string): BatchTarget =>
  ({
    gate: { gate_id: "g1", index: "i", embedding: "e", reranker: "r" },
    calibration: { id: calibrationId, index_version: "v2", expectation: {} },
    stored: null,
  }) as unknown as BatchTarget;

/** A gate whose log holds `events` (seq 1, 2, ...), with no active row for the calibrations asked about. */
function stores(events: Pick<GateEvent, "kind" | "calibration_id">[], served: string | null) {
  const log = events.map((e, i) => ({ ...e, seq: i + 1 }));
  const reads: number[] = [];
  const deps = {
    thresholds: {
      read: async () => {
        if (served === null) throw new AppError("uncalibrated", "no active calibration");
        return { projection: { threshold: { calibration_id: served } } };
      },
    },
    calibrations: {
      activeRows: async () => [{ calibration_id: "cal_current" }],
      events: async (_: string, after: number, limit: number) => {
        reads.push(after);
        return log.filter((e) => e.seq > after).slice(0, limit);
      },
    },
  } as unknown as Pick<MonitoringDeps, "calibrations" | "thresholds">;
  return { deps, reads };
}

const shadowChanges = (n: number) => Array.from({ length: n }, () => ({ kind: "shadow_changed" as const, calibration_id: "cal_other" }));

describe("everServed", () => {
  it("the calibration the served projection names is served, with no read of the log", async () => {
    const { deps, reads } = stores([], "cal_x");
    expect(await everServed(target("cal_x"), deps)).toBe(true);
    expect(reads).toEqual([]);
  });

  it("finds an activation or a promotion start past the first page, reading page after page", async () => {
    for (const kind of ["activation", "promotion_completed", "promotion_started"] as const) {
      const { deps, reads } = stores([...shadowChanges(SERVED_LOOKUP_PAGE_ROWS + 5), { kind, calibration_id: "cal_x" }], null);
      expect(await everServed(target("cal_x"), deps)).toBe(true);
      expect(reads).toEqual([0, SERVED_LOOKUP_PAGE_ROWS]);
    }
  });

  it("a calibration only ever a shadow, or absent from the log, was never served; the whole log is read", async () => {
    const { deps, reads } = stores(
      [
        ...shadowChanges(2 * SERVED_LOOKUP_PAGE_ROWS),
        { kind: "shadow_added", calibration_id: "cal_x" },
        { kind: "shadow_removed", calibration_id: "cal_x" },
      ],
      "cal_current",
    );
    expect(await everServed(target("cal_x"), deps)).toBe(false);
    expect(reads).toEqual([0, SERVED_LOOKUP_PAGE_ROWS, 2 * SERVED_LOOKUP_PAGE_ROWS]);
    expect(await everServed(target("cal_current"), deps)).toBe(true);
  });
});
