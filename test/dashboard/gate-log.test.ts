// The gate page reads the rows of a gate's log that cover its series' range: a log of one page in one read; a busy
// gate's (more rows than a page, seqs shared with other gates) found by bisection, its rows before the range given as
// the one row whose served state starts the range, the range read forward, and a read cut at its page limit said so.
import { describe, expect, it } from "vitest";
import type { GateEvent, GateEventKind } from "../../src/contract";
import { GATE_LOG_PAGE_ROWS, GATE_LOG_RANGE_PAGES, logForRange } from "../../src/dashboard/data/gate-log";
import { rangeTraffic, trafficIn } from "../../src/dashboard/data/traffic-spans";

const T0 = Date.parse("2026-11-01T00:00:00.000Z");
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const event = (seq: number, kind: GateEventKind, calibration_id: string, minutes: number, served: GateEvent["served"] = null): GateEvent => ({
  v: 1,
  seq,
  prev_seq: 0,
  gate_id: "g",
  kind,
  at: iso(minutes),
  actor: "t",
  reason: null,
  calibration_id,
  served,
  promotion: null,
  details: kind === "shadow_added" || kind === "shadow_changed" ? { sample_rate: 0.1 } : null,
});

/** What a row's `served` says of the traffic after it: the served calibration and its shadows. */
const served = (calibration_id: string, shadows: string[]) =>
  ({ calibration_id, shadows: shadows.map((id) => ({ calibration_id: id })), rollout: null }) as unknown as GateEvent["served"];

/** A store over one gate's rows (seqs with gaps: other gates' rows between), counting reads as D1 queries. */
function storeOf(rows: readonly GateEvent[]) {
  const reads: number[] = [];
  return {
    reads,
    events: async (gateId: string, afterSeq: number, limit: number) => {
      reads.push(limit);
      return rows.filter((e) => e.gate_id === gateId && e.seq > afterSeq).slice(0, limit);
    },
  };
}

/**
 * v1 activated, v2 shadowed, then `fillers` rate changes of v2 a minute apart (each row's served state names v1 and its
 * shadow v2), v3 shadowed 5 minutes after the last, v2's shadow removed 60 minutes later. Seqs step by 7.
 */
function busyLog(fillers: number): GateEvent[] {
  const rows = [event(7, "activation", "v1", 0, served("v1", [])), event(14, "shadow_added", "v2", 1, served("v1", ["v2"]))];
  for (let i = 0; i < fillers; i += 1) rows.push(event(21 + 7 * i, "shadow_changed", "v2", 2 + i, served("v1", ["v2"])));
  const last = rows[rows.length - 1]!;
  const m = (Date.parse(last.at) - T0) / 60_000;
  rows.push(event(last.seq + 7, "shadow_added", "v3", m + 5, served("v1", ["v2", "v3"])));
  rows.push(event(last.seq + 14, "shadow_removed", "v2", m + 65, served("v1", ["v3"])));
  return rows;
}

describe("logForRange", () => {
  it("reads a log of less than a page once, whole", async () => {
    const rows = busyLog(10);
    const store = storeOf(rows);
    const log = await logForRange("g", iso(8), rows[rows.length - 1]!.seq, store);
    expect(log).toEqual({ before: null, events: rows, readTo: null });
    expect(store.reads).toEqual([GATE_LOG_PAGE_ROWS]);
  });

  it("reads the newest rows of a gate with more rows than a page: those from the range's start, and the one before", async () => {
    const fillers = 2.5 * GATE_LOG_PAGE_ROWS;
    const rows = busyLog(fillers);
    const head = rows[rows.length - 1]!.seq;
    const lastFiller = rows[rows.length - 3]!;
    // the range starts 30 minutes before the last rate change: 30 rows of it, then v3's add and v2's removal
    const from = iso((Date.parse(lastFiller.at) - T0) / 60_000 - 29.5);
    const store = storeOf(rows);
    const log = await logForRange("g", from, head, store);
    expect(log.before?.seq).toBe(lastFiller.seq - 30 * 7);
    expect(log.events.map((e) => e.kind)).toEqual([...Array.from({ length: 30 }, () => "shadow_changed"), "shadow_added", "shadow_removed"]);
    expect(log.readTo).toBeNull();
    // one page, single-row bisection steps (about log2 of the head's seq), one forward page
    expect(store.reads.filter((n) => n === GATE_LOG_PAGE_ROWS)).toHaveLength(2);
    expect(store.reads.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(head)));

    // The hours named from them: v2 a shadow until its removal, v3 from its add, v1 served throughout, though the
    // rows that started them are thousands of rows back.
    const spans = rangeTraffic(log);
    const added = Date.parse(rows[rows.length - 2]!.at);
    const hour = (ms: number) => [new Date(ms).toISOString(), new Date(ms + 3600_000).toISOString()] as const;
    expect(trafficIn(spans, "v1", ...hour(added))).toEqual(["served"]);
    expect(trafficIn(spans, "v2", ...hour(added - 3600_000))).toEqual(["shadow"]);
    expect(trafficIn(spans, "v3", ...hour(added))).toEqual(["shadow"]);
    expect(trafficIn(spans, "v2", ...hour(added + 2 * 3600_000))).toEqual([]);
  });

  it("reads a range with more rows than its page limit up to the last row read, and names no traffic after it", async () => {
    const rows = busyLog(GATE_LOG_RANGE_PAGES * GATE_LOG_PAGE_ROWS + 500);
    const store = storeOf(rows);
    const log = await logForRange("g", iso(0.5), rows[rows.length - 1]!.seq, store);
    expect(log.before?.kind).toBe("activation");
    // the pages read: the activation before the range, then the range's rows
    expect(log.events).toHaveLength(GATE_LOG_RANGE_PAGES * GATE_LOG_PAGE_ROWS - 1);
    expect(log.readTo).toBe(log.events[log.events.length - 1]!.at);
    const spans = rangeTraffic(log);
    expect(trafficIn(spans, "v2", iso(60), iso(120))).toEqual(["shadow"]);
    const after = Date.parse(log.readTo!) + 60_000;
    expect(trafficIn(spans, "v1", new Date(after).toISOString(), new Date(after + 3600_000).toISOString())).toEqual([]);
  });

  it("starts a range after every row from the newest one", async () => {
    const rows = busyLog(GATE_LOG_PAGE_ROWS);
    const log = await logForRange("g", iso(1e6), rows[rows.length - 1]!.seq, storeOf(rows));
    expect(log.before).toEqual(rows[rows.length - 1]);
    expect(log.events).toEqual([]);
    expect(trafficIn(rangeTraffic(log), "v3", iso(1e6), iso(1e6 + 60))).toEqual(["shadow"]);
  });
});
