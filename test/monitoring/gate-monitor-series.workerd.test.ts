/**
 * The GateMonitor's drop-rate series (src/monitoring/gate-monitor/series.ts): hourly buckets per calibration with the
 * detector's evidence, alarms marked where they happened, the detector restarted at an alarm while the day's window
 * keeps its counts, and the retention and row cap that bound a gate's series.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_SERIES_BUCKETS, SERIES_BUCKET_MS, SERIES_RETENTION_MS } from "../../src/platform/limits";
import type { GateMonitor } from "../../src/worker/gate-monitor";
import { batch, moved, steady, T0 } from "../support/monitor-batches";
import { monitorStubs } from "../support/monitor-stubs";

const { monitor, drain } = monitorStubs("series");
afterEach(drain);

const HOUR = SERIES_BUCKET_MS;

/** A row written by hand (calibration, traffic, hour): the tests fill the table faster than batches would. */
const INSERT_ROW = `INSERT INTO series (calibration_id, traffic, bucket_start, index_version, batches, queries, candidates, dropped,
  empty_queries, gated_queries, expected, band_lo, band_hi, log_evidence, max_log_evidence, log_threshold, empty_log_evidence,
  drop_alarms, empty_alarms, last_alarm_at) VALUES (?, ?, ?, 'v0', 1, 1, 20, 6, 0, 1, 0.3, 0.28, 0.32, 0, 0, 7, NULL, 0, 0, NULL)`;

/** A batch of `traffic`: a shadow's mirrored batch, a promotion's candidate or control arm, or a plain served one. */
const trafficBatch = (
  gateId: string,
  batchId: string,
  nowMs: number,
  queries: [number, number][],
  traffic: "served" | "shadow" | "candidate" | "control",
) => {
  const b = batch(gateId, batchId, nowMs, queries);
  if (traffic === "shadow") return { ...b, role: "shadow" as const, shadow_since_seq: 1 };
  if (traffic === "served") return b;
  return { ...b, promotion: { id: "prm_0000000000series", step: 0, arm: traffic } };
};

describe("GateMonitor series", () => {
  it("adds each batch to its hour: counts, drop rate, the calibration's band and the detector's evidence", async () => {
    const { gateId, rpc } = monitor("hours");
    await rpc.observe(batch(gateId, "h1", T0 + 5 * 60_000, steady(40)));
    await rpc.observe(batch(gateId, "h2", T0 + 50 * 60_000, [...steady(10), [20, 20], [20, 0], [0, 0]]));
    await rpc.observe(batch(gateId, "h3", T0 + HOUR + 1, steady(5)));
    // A retried batch is counted once, in the series as in the window.
    await rpc.observe(batch(gateId, "h3", T0 + HOUR + 2, steady(5)));
    const buckets = await rpc.series(T0, T0 + 2 * HOUR);
    expect(buckets.map((b) => [b.start, b.batches, b.queries, b.candidates, b.dropped, b.empty_queries, b.gated_queries])).toEqual([
      [new Date(T0).toISOString(), 2, 52, 1040, 320, 1, 51],
      [new Date(T0 + HOUR).toISOString(), 1, 5, 100, 30, 0, 5],
    ]);
    expect(buckets[0]!.drop_rate).toBeCloseTo(320 / 1040, 12);
    expect(buckets[0]).toMatchObject({ calibration_id: `cal_${gateId}`, index_version: "v1", end: new Date(T0 + HOUR).toISOString() });
    const status = await rpc.status(gateId, T0 + HOUR + 3, batch(gateId, "x", T0, []).config);
    const w = status.windows[0]!;
    // The bucket holds the detector's numbers after its last batch: the last hour's equal the window's now.
    expect(buckets[1]).toMatchObject({
      expected: w.drop_rate.expected,
      band: w.drop_rate.band,
      log_evidence: w.drop_rate.log_evidence,
      log_threshold: w.log_threshold,
      drop_rate_alarms: 0,
      last_alarm_at: null,
    });
    expect(buckets[0]!.max_log_evidence).toBeGreaterThanOrEqual(buckets[0]!.log_evidence);
    // A range selects the buckets that overlap it.
    expect((await rpc.series(T0 + HOUR + 10, T0 + 2 * HOUR)).map((b) => b.start)).toEqual([new Date(T0 + HOUR).toISOString()]);
  });

  it("marks an alarm in its hour, restarts the detector and keeps the day's window", async () => {
    const { gateId, rpc } = monitor("alarm");
    await rpc.observe(batch(gateId, "a0", T0, steady(100)));
    const alarmAt = T0 + 2 * HOUR + 7 * 60_000;
    const alarmed = await rpc.observe(batch(gateId, "a1", alarmAt, moved(200)));
    expect(alarmed.alerts).toEqual(["drop_rate_drift"]);
    expect(alarmed.window.drop_rate.alarm).toBe(true);
    const after = await rpc.observe(batch(gateId, "a2", alarmAt + 60_000, steady(10)));
    // The window still holds every query of the day; the restarted detector has seen ten.
    expect(after.window).toMatchObject({ queries: 310, alarms: 1 });
    expect(after.window.drop_rate).toMatchObject({ alarm: false, armed: false, not_armed_reason: "too_few_queries" });
    const [first, alarmHour] = await rpc.series(T0, T0 + 3 * HOUR);
    expect(first).toMatchObject({ drop_rate_alarms: 0, last_alarm_at: null });
    expect(alarmHour).toMatchObject({ batches: 2, queries: 210, drop_rate_alarms: 1, last_alarm_at: new Date(alarmAt).toISOString() });
    // The hour keeps the evidence that alarmed (its highest), and ends on the restarted detector's.
    expect(alarmHour!.max_log_evidence).toBeGreaterThanOrEqual(alarmHour!.log_threshold);
    expect(alarmHour!.log_evidence).toBeLessThan(alarmHour!.log_threshold);
  });

  it("counts abstention and min_keep binding per hour, and marks an abstention alarm", async () => {
    const { gateId, rpc } = monitor("abstain");
    // A min_keep 3 gate that abstains on 10 % of queries (its expectation rests on 2,000 calibration queries).
    const guarded = (batchId: string, nowMs: number, queries: number[][]) => {
      const b = batch(gateId, batchId, nowMs, []);
      return {
        ...b,
        queries: queries as unknown as typeof b.queries,
        calibration: {
          ...b.calibration,
          expectation: { ...b.calibration.expectation, guards: { min_keep: 3, max_keep: null }, abstention: { expected_rate: 0.1, queries: 2000 } },
        },
      };
    };
    // [m, d, below, abstained]: bound where the threshold alone left fewer than min(3, m) (m - below < 3).
    const hour1 = [
      [20, 6, 6, 0], // not bound, answered
      [20, 17, 19, 0], // bound: the threshold alone kept 1
      [2, 0, 2, 0], // bound: a 2-candidate query the threshold emptied (min(3, 2) = 2)
      [20, 20, 20, 1], // abstained (and the threshold alone kept nothing: bound)
      [20, 6], // an older client: says nothing of abstention, and no below (read as d: not bound)
      [0, 0, 0, 0], // no candidates: not counted
    ];
    await rpc.observe(guarded("g1", T0 + 60_000, hour1));
    const [first] = await rpc.series(T0, T0 + HOUR);
    expect(first).toMatchObject({ queries: 5, abstention_queries: 4, abstained_queries: 1, guard_bound_queries: 3, abstention_alarms: 0 });
    expect(first!.abstention_rate).toBeCloseTo(0.25, 12);

    // Production abstains far more than the 10 % calibrated: the abstention test alarms and its hour marks it.
    const alarmAt = T0 + 2 * HOUR + 5 * 60_000;
    const answered = Array.from({ length: 100 }, () => [20, 6, 6, 0]);
    await rpc.observe(guarded("g2", alarmAt - 60_000, answered));
    let alarmed: string[] = [];
    for (let i = 0; i < 20 && !alarmed.includes("abstention_drift"); i++) {
      alarmed = (
        await rpc.observe(
          guarded(
            `g3-${i}`,
            alarmAt + i,
            Array.from({ length: 100 }, (_, j) => [20, j % 2 === 0 ? 20 : 6, j % 2 === 0 ? 20 : 6, j % 2 === 0 ? 1 : 0]),
          ),
        )
      ).alerts;
    }
    expect(alarmed).toContain("abstention_drift");
    const [, alarmHour] = await rpc.series(T0, T0 + 3 * HOUR);
    expect(alarmHour!.abstention_alarms).toBe(1);
    expect(alarmHour!.last_alarm_at).not.toBeNull();
    expect(alarmHour!.abstention_rate!).toBeGreaterThan(0.2);
  });

  it("keeps each traffic's hour apart: served (a control arm's batches with it), shadow and candidate, each with its own detector", async () => {
    const { gateId, rpc } = monitor("traffic");
    // One calibration within one hour: served (as before a promotion completes it), mirrored as a shadow, and in a
    // candidate arm; the shadow's traffic has moved, the others not.
    await rpc.observe(trafficBatch(gateId, "t-served", T0 + 60_000, steady(40), "served"));
    await rpc.observe(trafficBatch(gateId, "t-control", T0 + 2 * 60_000, steady(10), "control"));
    await rpc.observe(trafficBatch(gateId, "t-shadow", T0 + 3 * 60_000, moved(200), "shadow"));
    await rpc.observe(trafficBatch(gateId, "t-candidate", T0 + 4 * 60_000, steady(30), "candidate"));
    // a retried shadow batch is counted once
    await rpc.observe(trafficBatch(gateId, "t-shadow", T0 + 5 * 60_000, moved(200), "shadow"));
    const buckets = await rpc.series(T0, T0 + HOUR);
    expect(buckets.map((b) => [b.calibration_id, b.traffic, b.start, b.batches, b.queries, b.dropped])).toEqual([
      [`cal_${gateId}`, "candidate", new Date(T0).toISOString(), 1, 30, 180],
      [`cal_${gateId}`, "served", new Date(T0).toISOString(), 2, 50, 300],
      [`cal_${gateId}`, "shadow", new Date(T0).toISOString(), 1, 200, 2400],
    ]);
    const [candidate, served, shadow] = buckets;
    // The shadow's detector alone saw the move: its hour's evidence is its own, the served hour's is not raised by it.
    expect(shadow!.max_log_evidence).toBeGreaterThanOrEqual(shadow!.log_threshold);
    expect(shadow!.drop_rate_alarms).toBe(1);
    expect(served!.max_log_evidence).toBeLessThan(served!.log_threshold);
    expect(served!.drop_rate_alarms).toBe(0);
    expect(candidate!.drop_rate_alarms).toBe(0);
  });

  it("forgets buckets past the retention when a new hour opens, and keeps at most MAX_SERIES_BUCKETS", async () => {
    const { gateId, stub, rpc } = monitor("bounds");
    await rpc.observe(batch(gateId, "old", T0, steady(5)));
    await rpc.observe(batch(gateId, "still", T0 + SERIES_RETENTION_MS - HOUR, steady(5)));
    // Opening an hour past the retention of the first forgets it.
    await rpc.observe(batch(gateId, "new", T0 + SERIES_RETENTION_MS + HOUR, steady(5)));
    const kept = await rpc.series(T0 - HOUR, T0 + SERIES_RETENTION_MS + 2 * HOUR);
    expect(kept.map((b) => b.start)).toEqual([
      new Date(T0 + SERIES_RETENTION_MS - HOUR).toISOString(),
      new Date(T0 + SERIES_RETENTION_MS + HOUR).toISOString(),
    ]);

    // The row cap: three other calibrations fill every hour of the retention (MAX_SERIES_BUCKETS rows), then one more
    // hour opens: the oldest row goes, though none is past the retention.
    const capAt = T0 + SERIES_RETENTION_MS + 5 * HOUR;
    const B = Math.floor(capAt / HOUR) * HOUR;
    await runInDurableObject(stub, (_: GateMonitor, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM series");
      for (let c = 0; c < MAX_SERIES_BUCKETS / (SERIES_RETENTION_MS / HOUR); c++)
        for (let h = 0; h < SERIES_RETENTION_MS / HOUR; h++) sql.exec(INSERT_ROW, `cal_other_${c}`, "served", B - SERIES_RETENTION_MS + h * HOUR);
    });
    const rows = () =>
      runInDurableObject(stub, (_: GateMonitor, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM series").one().n);
    expect(await rows()).toBe(MAX_SERIES_BUCKETS);
    await rpc.observe(batch(gateId, "cap", capAt, steady(5)));
    expect(await rows()).toBe(MAX_SERIES_BUCKETS);
    const left = await rpc.series(B - SERIES_RETENTION_MS, B);
    expect(left.filter((b) => b.start === new Date(B - SERIES_RETENTION_MS).toISOString()).map((b) => b.calibration_id)).toEqual([
      "cal_other_1",
      "cal_other_2",
    ]);
    expect(left.at(-1)).toMatchObject({ calibration_id: `cal_${gateId}`, start: new Date(B).toISOString() });
  });

  it("with several traffics: the retention forgets every traffic's old hours, and the cap takes from the traffic holding the most rows", async () => {
    const { gateId, stub, rpc } = monitor("bounds-traffic");
    await rpc.observe(trafficBatch(gateId, "old-served", T0, steady(5), "served"));
    await rpc.observe(trafficBatch(gateId, "old-shadow", T0, steady(5), "shadow"));
    await rpc.observe(trafficBatch(gateId, "old-candidate", T0 + HOUR, steady(5), "candidate"));
    await rpc.observe(trafficBatch(gateId, "still-shadow", T0 + SERIES_RETENTION_MS, steady(5), "shadow"));
    // Opening an hour past the retention of the first two forgets both traffics' rows of it, and the candidate's hour
    // once it is past too.
    await rpc.observe(trafficBatch(gateId, "new", T0 + SERIES_RETENTION_MS + HOUR, steady(5), "served"));
    let kept = await rpc.series(T0 - HOUR, T0 + SERIES_RETENTION_MS + 2 * HOUR);
    expect(kept.map((b) => [b.traffic, b.start])).toEqual([
      ["candidate", new Date(T0 + HOUR).toISOString()],
      ["shadow", new Date(T0 + SERIES_RETENTION_MS).toISOString()],
      ["served", new Date(T0 + SERIES_RETENTION_MS + HOUR).toISOString()],
    ]);
    await rpc.observe(trafficBatch(gateId, "newer", T0 + SERIES_RETENTION_MS + 2 * HOUR, steady(5), "shadow"));
    kept = await rpc.series(T0 - HOUR, T0 + SERIES_RETENTION_MS + 3 * HOUR);
    expect(kept.map((b) => b.traffic)).toEqual(["shadow", "served", "shadow"]);

    // The row cap counts rows per traffic: two shadows fill two thirds of the cap, the served calibration the rest.
    // A new shadow hour at the cap takes the shadows' oldest row; a new served hour too (they still hold the most), so
    // the served hours are all kept, and the table stays at the cap.
    const capAt = T0 + 2 * SERIES_RETENTION_MS;
    const B = Math.floor(capAt / HOUR) * HOUR;
    const hoursKept = SERIES_RETENTION_MS / HOUR;
    await runInDurableObject(stub, (_: GateMonitor, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM series");
      for (let h = 0; h < hoursKept; h++) {
        const at = B - SERIES_RETENTION_MS + h * HOUR;
        sql.exec(INSERT_ROW, "cal_shadow_a", "shadow", at);
        sql.exec(INSERT_ROW, "cal_shadow_b", "shadow", at);
        sql.exec(INSERT_ROW, "cal_served", "served", at);
      }
    });
    const counts = () =>
      runInDurableObject(stub, (_: GateMonitor, state) =>
        Object.fromEntries(
          state.storage.sql
            .exec<{ traffic: string; n: number }>("SELECT traffic, COUNT(*) AS n FROM series GROUP BY traffic ORDER BY traffic")
            .toArray()
            .map((r) => [r.traffic, r.n]),
        ),
      );
    expect(await counts()).toEqual({ served: hoursKept, shadow: 2 * hoursKept });
    await rpc.observe(trafficBatch(gateId, "cap-shadow", capAt, steady(5), "shadow"));
    await rpc.observe(trafficBatch(gateId, "cap-served", capAt, steady(5), "served"));
    expect(await counts()).toEqual({ served: hoursKept + 1, shadow: 2 * hoursKept - 1 });
    const oldest = (await rpc.series(B - SERIES_RETENTION_MS, B - SERIES_RETENTION_MS)).map((b) => b.calibration_id);
    // both shadows' rows of the oldest hour went, the served calibration's stays
    expect(oldest).toEqual(["cal_served"]);
    expect(MAX_SERIES_BUCKETS).toBe(3 * hoursKept);
  });
});
