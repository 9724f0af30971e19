/**
 * Which traffic each calibration of a gate had, and when, from the gate's activation log: served (from its activation
 * to the next calibration change), shadow (from `shadow_added` to its removal, a promotion of it or an activation),
 * promotion candidate (from `promotion_started` to the promotion's close or any calibration change). The same rules as
 * the shadow set (src/promotions/shadows.ts shadowSet) and the current calibration, kept over time.
 *
 * Why the gate page needs it: the monitor keeps one hourly series bucket per calibration and traffic (GET
 * /v1/monitor/series, its `traffic`), but hours it recorded before it kept them apart have none: such an hour holds
 * every batch of its calibration, so the hour in which a calibration changed role (a shadow promoted, a candidate
 * completed) joins both roles in one point, its expected rate and evidence those of the last batch's detector. The
 * page names those hours' traffic from these spans and marks such an hour as mixed (placeBuckets); an hour with a
 * stored traffic is that traffic's alone.
 */
import { type GateEvent, isCalibrationChange, type SeriesBucket, type SeriesTraffic } from "../../contract";
import type { RangeLog } from "./gate-log";

/** A kind of traffic as the gate page names it. */
export type TrafficWord = "served" | "shadow" | "promotion candidate";

/** One calibration's traffic of one kind over [from, to); `to` null while it goes on. */
export interface TrafficSpan {
  readonly calibration_id: string;
  readonly traffic: TrafficWord;
  readonly from: string;
  readonly to: string | null;
}

/**
 * The spans the log describes, oldest event first (as the log is read). `before`, when the log is read from a later
 * row on (gate-log.ts), is the row before `events`: the traffic its `served` state names (the served calibration, the
 * split's candidate, the shadows) is taken as going on from its time.
 */
export function trafficSpans(events: readonly GateEvent[], before: GateEvent | null = null): TrafficSpan[] {
  const closed: TrafficSpan[] = [];
  const open = new Map<string, TrafficSpan>();
  const key = (id: string, traffic: TrafficWord) => `${traffic}\u0000${id}`;
  const start = (id: string, traffic: TrafficWord, at: string) => {
    if (!open.has(key(id, traffic))) open.set(key(id, traffic), { calibration_id: id, traffic, from: at, to: null });
  };
  const served = before?.served ?? null;
  if (before !== null && served !== null) {
    start(served.calibration_id, "served", before.at);
    if (served.rollout) start(served.rollout.candidate.calibration_id, "promotion candidate", before.at);
    for (const s of served.shadows ?? []) start(s.calibration_id, "shadow", before.at);
  }
  const end = (id: string, traffic: TrafficWord, at: string) => {
    const s = open.get(key(id, traffic));
    if (s === undefined) return;
    open.delete(key(id, traffic));
    closed.push({ ...s, to: at });
  };
  const endAll = (traffic: TrafficWord, at: string, except: string | null) => {
    for (const s of [...open.values()]) if (s.traffic === traffic && s.calibration_id !== except) end(s.calibration_id, traffic, at);
  };
  for (const e of events) {
    const id = e.calibration_id;
    if (isCalibrationChange(e.kind)) {
      // A change of the served calibration ends the other's service, every candidate arm (completed or superseded)
      // and the new one's shadow.
      endAll("served", e.at, id);
      endAll("promotion candidate", e.at, null);
      end(id, "shadow", e.at);
      start(id, "served", e.at);
    } else if (e.kind === "shadow_added") start(id, "shadow", e.at);
    else if (e.kind === "shadow_removed") end(id, "shadow", e.at);
    else if (e.kind === "promotion_started") {
      end(id, "shadow", e.at);
      start(id, "promotion candidate", e.at);
    } else if (e.kind === "promotion_rolled_back" || e.kind === "promotion_superseded") end(id, "promotion candidate", e.at);
  }
  return [...closed, ...open.values()].sort((a, b) => a.from.localeCompare(b.from));
}

/** The kinds of traffic the calibration had within [from, to), in order of first start. */
export function trafficIn(spans: readonly TrafficSpan[], calibrationId: string, from: string, to: string): TrafficWord[] {
  const words = spans.filter((s) => s.calibration_id === calibrationId && s.from < to && (s.to === null || s.to > from)).map((s) => s.traffic);
  return [...new Set(words)];
}

/**
 * The spans of the log rows read for a range (gate-log.ts logForRange). When the read stopped short of the log's newest
 * row, traffic still going on at its last row ends there: the page names no traffic it has not read.
 */
export function rangeTraffic(log: RangeLog): TrafficSpan[] {
  const spans = trafficSpans(log.events, log.before);
  return log.readTo === null ? spans : spans.map((s) => (s.to === null ? { ...s, to: log.readTo } : s));
}

/** A stored traffic in the page's words. */
export const TRAFFIC_WORDS: Record<SeriesTraffic, TrafficWord> = { served: "served", shadow: "shadow", candidate: "promotion candidate" };

const TRAFFIC_OF: Record<TrafficWord, SeriesTraffic> = { served: "served", shadow: "shadow", "promotion candidate": "candidate" };

/** The series' buckets as the gate page draws them (placeBuckets). */
export interface PlacedBuckets {
  /** Every bucket with a traffic: its stored one, or for an earlier hour the last its calibration had in it ("served" when the log read does not reach it). */
  readonly buckets: SeriesBucket[];
  /** The kinds of traffic each bucket counted: its stored traffic, or an earlier hour's from the spans (empty: not read). */
  readonly words: ReadonlyMap<SeriesBucket, readonly TrafficWord[]>;
  /** The earlier hours that join two kinds of their calibration's traffic (an hour with a stored traffic never does). */
  readonly mixed: ReadonlySet<SeriesBucket>;
}

/**
 * Each bucket on the line of its traffic. A bucket with a stored `traffic` counted that traffic alone. One recorded
 * before the monitor kept traffic apart is named from the spans and drawn on the line of the last traffic its hour
 * had (its expected rate, band and evidence are its last batch's detector's), marked mixed when it had two.
 */
export function placeBuckets(buckets: readonly SeriesBucket[], spans: readonly TrafficSpan[]): PlacedBuckets {
  const words = new Map<SeriesBucket, readonly TrafficWord[]>();
  const mixed = new Set<SeriesBucket>();
  const placed = buckets.map((b) => {
    if (b.traffic !== undefined) {
      words.set(b, [TRAFFIC_WORDS[b.traffic]]);
      return b;
    }
    const had = trafficIn(spans, b.calibration_id, b.start, b.end);
    const last = had.at(-1);
    const out: SeriesBucket = { ...b, traffic: last === undefined ? "served" : TRAFFIC_OF[last] };
    words.set(out, had);
    if (had.length > 1) mixed.add(out);
    return out;
  });
  return { buckets: placed, words, mixed };
}
