// The traffic each calibration had and when, from a gate's activation log: the gate page names each hour of the series
// by it and marks an hour that joins two kinds of one calibration's traffic.
import { describe, expect, it } from "vitest";
import type { GateEvent, GateEventKind, SeriesBucket } from "../../src/contract";
import { placeBuckets, type TrafficSpan, trafficIn, trafficSpans } from "../../src/dashboard/data/traffic-spans";

let seq = 0;
const at = (hhmm: string) => `2026-12-04T${hhmm}:00.000Z`;
const event = (kind: GateEventKind, calibration_id: string, hhmm: string): GateEvent => {
  seq += 1;
  return {
    v: 1,
    seq,
    prev_seq: seq - 1,
    gate_id: "g",
    kind,
    at: at(hhmm),
    actor: "t",
    reason: null,
    calibration_id,
    served: null,
    promotion: null,
    details: null,
  };
};

describe("trafficSpans", () => {
  // README's "Promote": v1 served; v2 shadowed, promoted (its shadow ends), completed; v3 promoted and rolled back;
  // v4 promoted, superseded by a manual activation of v1.
  const spans = trafficSpans([
    event("activation", "v1", "08:00"),
    event("shadow_added", "v2", "09:10"),
    event("promotion_started", "v2", "10:30"),
    event("promotion_step", "v2", "11:00"),
    event("promotion_paused", "v2", "11:30"),
    event("promotion_resumed", "v2", "12:00"),
    event("promotion_completed", "v2", "13:20"),
    event("promotion_started", "v3", "14:00"),
    event("promotion_rolled_back", "v3", "14:45"),
    event("shadow_added", "v3", "15:00"),
    event("promotion_started", "v4", "16:00"),
    event("activation", "v1", "17:15"),
  ]);

  it("follows each calibration through its roles", () => {
    expect(spans).toEqual([
      { calibration_id: "v1", traffic: "served", from: at("08:00"), to: at("13:20") },
      { calibration_id: "v2", traffic: "shadow", from: at("09:10"), to: at("10:30") },
      // a pause keeps serving the step's share: the arm goes on
      { calibration_id: "v2", traffic: "promotion candidate", from: at("10:30"), to: at("13:20") },
      { calibration_id: "v2", traffic: "served", from: at("13:20"), to: at("17:15") },
      { calibration_id: "v3", traffic: "promotion candidate", from: at("14:00"), to: at("14:45") },
      // another calibration's activation leaves a shadow in the set (src/promotions/shadows.ts)
      { calibration_id: "v3", traffic: "shadow", from: at("15:00"), to: null },
      { calibration_id: "v4", traffic: "promotion candidate", from: at("16:00"), to: at("17:15") },
      { calibration_id: "v1", traffic: "served", from: at("17:15"), to: null },
    ]);
  });

  it("names an hour's traffic in order, two kinds where a change fell inside it, none before the log", () => {
    expect(trafficIn(spans, "v2", at("10:00"), at("11:00"))).toEqual(["shadow", "promotion candidate"]);
    expect(trafficIn(spans, "v2", at("11:00"), at("12:00"))).toEqual(["promotion candidate"]);
    expect(trafficIn(spans, "v2", at("13:00"), at("14:00"))).toEqual(["promotion candidate", "served"]);
    // a span's end is exclusive: v1's 13:20 end is not in the 14:00 hour, v2's shadow ended as its 10:30 arm began
    expect(trafficIn(spans, "v1", at("14:00"), at("15:00"))).toEqual([]);
    expect(trafficIn(spans, "v2", at("07:00"), at("08:00"))).toEqual([]);
    expect(trafficIn(spans, "v1", at("17:00"), at("18:00"))).toEqual(["served"]);
  });
});

describe("placeBuckets", () => {
  const hour = (hh: string, calibration_id: string, traffic?: SeriesBucket["traffic"]): SeriesBucket =>
    ({
      calibration_id,
      ...(traffic === undefined ? {} : { traffic }),
      start: at(`${hh}:00`),
      end: at(`${String(Number(hh) + 1).padStart(2, "0")}:00`),
    }) as SeriesBucket;
  // v2 a shadow until 10:30, served since
  const spans: TrafficSpan[] = [
    { calibration_id: "v2", traffic: "shadow", from: at("08:00"), to: at("10:30") },
    { calibration_id: "v2", traffic: "served", from: at("10:30"), to: null },
  ];

  it("keeps a stored traffic as the bucket's alone, never mixed, whatever the spans say", () => {
    const stored = [hour("10", "v2", "shadow"), hour("10", "v2", "served"), hour("11", "v2", "candidate")];
    const placed = placeBuckets(stored, spans);
    expect(placed.buckets).toEqual(stored);
    expect(placed.buckets.map((b) => placed.words.get(b))).toEqual([["shadow"], ["served"], ["promotion candidate"]]);
    expect(placed.mixed.size).toBe(0);
  });

  it("names an earlier hour from the spans, on the line of its last traffic, mixed where it had two; unnamed hours go on the served line", () => {
    const placed = placeBuckets([hour("09", "v2"), hour("10", "v2"), hour("11", "v2"), hour("10", "v9")], spans);
    expect(placed.buckets.map((b) => b.traffic)).toEqual(["shadow", "served", "served", "served"]);
    expect(placed.buckets.map((b) => placed.words.get(b))).toEqual([["shadow"], ["shadow", "served"], ["served"], []]);
    expect([...placed.mixed].map((b) => b.start)).toEqual([at("10:00")]);
  });
});
