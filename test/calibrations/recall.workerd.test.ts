import { describe, expect, it } from "vitest";
import { decideQuery } from "../../src/stats/guard-rule";
import { labelledQueries } from "../support/labelled";
import { call, callJson, TOKENS, uniqueGate } from "../support/worker";

const upload = (json: unknown) => callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json });
const refused = (json: unknown) => callJson("POST", "/v1/calibrations", 422, { token: TOKENS.calibrate, json });

function body(gate: object, qs: { scores: number[]; relevance: number[] }[], policy: unknown, extra: object = {}) {
  return { ...gate, index_version: "v1", policy, queries: qs.map((q) => q.scores), relevance: qs.map((q) => q.relevance), ...extra };
}

describe("labelled uploads and the recall policy", () => {
  it("fits a recall gate with its guarantee, interval, implied drop rate and tradeoff table", async () => {
    const gate = uniqueGate("recall");
    const qs = labelledQueries(11, 300);
    const res = await upload(body(gate, qs, { kind: "recall", target: 0.9, coverage: "any_relevant" }));
    const c = res.calibration;
    expect(c.policy).toEqual({ kind: "recall", target: 0.9, coverage: "any_relevant" });
    expect(c.recall).toMatchObject({ target: 0.9, coverage: "any_relevant", rule: "rank_floor", n: 300, k: 30 });
    expect(c.recall!.coverage_bound).toBeCloseTo(1 - 30 / 301, 12);
    expect(c.recall!.coverage_upper).toBeCloseTo(1 - 29 / 301, 12);
    expect(c.recall!.coverage_interval_95[0]).toBeLessThan(c.recall!.coverage_bound);
    expect(c.recall!.coverage_interval_95[1]).toBeGreaterThan(c.recall!.coverage_bound);
    // the in-sample coverage of the k-th smallest per-query maximum is 1 - (k-1)/n
    expect(c.recall!.in_sample_coverage).toBeCloseTo(1 - 29 / 300, 12);
    expect(c.recall!.implied_drop_rate).toBe(c.in_sample_drop_rate);
    expect(c.recall!.implied_drop_rate).toBeGreaterThan(0.3);
    expect(c.recall!.empty_context_rate).toBe(c.per_query!.empty_context_rate);
    const rows = c.recall!.tradeoff;
    expect(rows.map((r: any) => r.target)).toEqual([0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99]);
    // a stricter target costs a lower threshold and a smaller drop rate
    for (let i = 1; i < rows.length; i++) if (rows[i]!.drop_rate !== null) expect(rows[i]!.drop_rate).toBeLessThanOrEqual(rows[i - 1]!.drop_rate!);
    expect(rows.find((r) => r.target === 0.9)!.threshold).toBe(c.threshold);
    // 300 labelled queries and no cap: every target fits, and no row needs a reason
    for (const r of rows) expect(r).toMatchObject({ unfit_reason: null, minimum_queries: null, highest_target: null });
    expect(c.labels).toMatchObject({ queries: 300, labelled_queries: 300, queries_without_relevant: 0, relevant_at: null });
    expect(c.labels!.coverage_at_threshold.any_relevant).toBe(c.recall!.in_sample_coverage);
    // the served threshold is the recall gate's
    const t = await callJson("GET", `/v1/threshold?${new URLSearchParams(gate as Record<string, string>)}`, 200, { token: TOKENS.read });
    expect(t.threshold).toBe(c.threshold);
    expect(t.policy).toEqual(c.policy);
    // The drift monitor centres on expected_drop_rate, the conformal (below+1)/(n+1) (no ties: continuous scores), of
    // which implied_drop_rate is the in-sample below/n.
    const below = Math.round(c.recall!.implied_drop_rate * c.n);
    expect(c.expected_drop_rate).toBeCloseTo((below + 1) / (c.n + 1), 12);
    expect(c.expected_drop_rate).toBeGreaterThan(c.recall!.implied_drop_rate);
    await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: { batch_id: "recall-centre", ...gate, calibration_id: c.id, queries: [[3, 1]] },
    });
    const window = (await callJson("GET", `/v1/monitor?${new URLSearchParams(gate as Record<string, string>)}`, 200, { token: TOKENS.read }))
      .windows[0]!;
    expect(window.drop_rate.expected).toBeCloseTo(c.expected_drop_rate, 12);
  });

  it("supports all_relevant and candidates coverage", async () => {
    const qs = labelledQueries(12, 200);
    const all = (await upload(body(uniqueGate("all"), qs, { kind: "recall", target: 0.8, coverage: "all_relevant" }))).calibration;
    const cand = (await upload(body(uniqueGate("cand"), qs, { kind: "recall", target: 0.8, coverage: "candidates" }))).calibration;
    const any = (await upload(body(uniqueGate("any"), qs, { kind: "recall", target: 0.8 }))).calibration;
    expect(any.policy).toMatchObject({ coverage: "any_relevant" });
    expect(cand.recall!.rule).toBe("risk_control");
    expect(cand.recall!.coverage_bound).toBe(0.8);
    // keeping every relevant candidate is the strictest notion, at least one the loosest
    expect(all.threshold!).toBeLessThanOrEqual(cand.threshold!);
    expect(cand.threshold!).toBeLessThanOrEqual(any.threshold!);
    expect(cand.recall!.in_sample_coverage).toBeGreaterThanOrEqual(0.8 - 1 / 201);
  });

  it("takes graded labels with relevant_at, counts queries without a relevant candidate and warns", async () => {
    const qs = labelledQueries(13, 120, 10, 0.2, 2, 0.1);
    const graded = qs.map((q) => ({ scores: q.scores, relevance: q.relevance.map((r, j) => (r === 1 ? 2 + (j % 2) : j % 2)) }));
    const res = await upload(body(uniqueGate("graded"), graded, { kind: "recall", target: 0.9 }, { relevant_at: 2 }));
    const none = qs.filter((q) => !q.relevance.includes(1)).length;
    expect(none).toBeGreaterThan(0);
    expect(res.calibration.labels).toMatchObject({ queries: 120, queries_without_relevant: none, labelled_queries: 120 - none, relevant_at: 2 });
    expect(res.calibration.recall!.n).toBe(120 - none);
    expect(res.warnings.map((w: any) => w.code)).toContain("queries_without_relevant");
  });

  it("accepts labelled NDJSON query lines", async () => {
    const gate = uniqueGate("ndjson");
    const qs = labelledQueries(14, 60, 10);
    const lines = [JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "recall", target: 0.9, coverage: "all_relevant" } })];
    for (const q of qs) lines.push(JSON.stringify(q));
    const res = await call("POST", "/v1/calibrations", {
      token: TOKENS.calibrate,
      headers: { "content-type": "application/x-ndjson" },
      body: lines.join("\n"),
    });
    expect(res.status).toBe(201);
    const json: any = await res.json();
    const viaJson = (await upload(body(uniqueGate("ndjson-json"), qs, { kind: "recall", target: 0.9, coverage: "all_relevant" }))).calibration;
    expect(json.calibration.threshold).toBe(viaJson.threshold);
    expect(json.calibration.recall.n).toBe(60);
  });

  it("refuses labels without candidates, of the wrong shape, and too few labelled queries (422 with the number needed)", async () => {
    const gate = uniqueGate("bad");
    const qs = labelledQueries(15, 20, 5);
    const err = async (json: unknown) =>
      (await refused(json)).error as { code: string; message: string; details: { path: string; message: string }[] };
    expect(
      (await err({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 }, scores: [1, 2, 3], relevance: [[1, 0, 0]] })).message,
    ).toMatch(/labels need the candidates/);
    const short = body(gate, qs, { kind: "drop_rate", target: 0.2 });
    short.relevance[3] = [1];
    expect((await err(short)).details[0]).toEqual({ path: "relevance[3]", message: "has 1 label for 5 candidates" });
    const wrong = body(gate, qs, { kind: "drop_rate", target: 0.2 });
    wrong.relevance[0] = [0.5, 0, 0, 0, 1];
    expect((await err(wrong)).details[0]!.path).toBe("relevance[0][0]");
    expect((await err(body(gate, qs, { kind: "drop_rate", target: 0.2 }, { relevance: qs.slice(1).map((q) => q.relevance) }))).message).toMatch(
      /19 entries for 20 queries/,
    );
    expect((await err({ ...gate, index_version: "v1", policy: { kind: "recall", target: 0.9 }, queries: qs.map((q) => q.scores) })).message).toMatch(
      /needs relevance labels/,
    );
    const few = await err(body(gate, qs, { kind: "recall", target: 0.99 }));
    expect(few.code).toBe("too_few_labelled_queries");
    expect(few.details).toMatchObject({ labelled_queries: 20, minimum_queries: 99, target: 0.99 });
    const ndjson = await call("POST", "/v1/calibrations", {
      token: TOKENS.calibrate,
      headers: { "content-type": "application/x-ndjson" },
      body: [
        JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 } }),
        "[1,2]",
        JSON.stringify({ scores: [1, 2], relevance: [1, 0] }),
      ].join("\n"),
    });
    expect(ndjson.status).toBe(422);
  });

  it("carry from a recall calibration warns that recall is no longer guaranteed; labels on both sides report the coverage change", async () => {
    const gate = uniqueGate("upgrade");
    const v1 = (await upload(body(gate, labelledQueries(16, 300), { kind: "recall", target: 0.9 }))).calibration;
    // an upgrade that scores everything lower: the old threshold now loses relevant candidates
    const lower = labelledQueries(17, 300).map((q) => ({ scores: q.scores.map((s) => s * 0.7), relevance: q.relevance }));
    const carried = await upload(body(gate, lower, { kind: "carry", reference: "active" }, { index_version: "v2" }));
    expect(carried.warnings.map((w: any) => w.code)).toContain("recall_not_guaranteed");
    const cov = carried.shift!.coverage_at_previous_threshold!;
    expect(cov).toMatchObject({ coverage: "any_relevant", labelled_queries: 300 });
    expect(cov.previous).toBe(v1.recall!.in_sample_coverage);
    expect(cov.current).toBeLessThan(cov.previous - 0.1);
    expect(cov.change_points).toBeCloseTo(100 * (cov.current - cov.previous), 9);
    // unlabelled on one side: no coverage comparison
    const flat = await upload({ ...gate, index_version: "v3", policy: { kind: "carry", reference: "active" }, queries: lower.map((q) => q.scores) });
    expect(flat.shift!.coverage_at_previous_threshold).toBeNull();
  });

  it("gives the README example's threshold", async () => {
    const queries = [
      [0.91, 0.4, 0.12],
      [0.55, 0.31, 0.08],
      [0.77, 0.52, 0.3],
      [0.35, 0.62, 0.21],
      [0.88, 0.15, 0.44],
      [0.49, 0.58, 0.11],
      [0.82, 0.33, 0.27],
      [0.66, 0.71, 0.05],
      [0.93, 0.47, 0.38],
      [0.58, 0.2, 0.61],
    ];
    const relevance = [
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [1, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 1],
    ];
    const res = await upload({
      ...uniqueGate("readme"),
      index_version: "v3",
      policy: { kind: "recall", target: 0.9, coverage: "any_relevant" },
      queries,
      relevance,
    });
    expect(res.calibration.threshold).toBe(0.31);
    expect(res.calibration.recall).toMatchObject({ n: 10, k: 1 });
    const nine = await upload({
      ...uniqueGate("readme-9"),
      index_version: "v3",
      policy: { kind: "recall", target: 0.9 },
      queries: queries.slice(0, 9),
      relevance: relevance.slice(0, 9),
    });
    expect(nine.calibration.recall!.k).toBe(1);
    const eight = await refused({
      ...uniqueGate("readme-8"),
      index_version: "v3",
      policy: { kind: "recall", target: 0.9 },
      queries: queries.slice(0, 8),
      relevance: relevance.slice(0, 8),
    });
    expect((eight.error.details as { minimum_queries: number }).minimum_queries).toBe(9);
  });

  it("says why a tradeoff row has no threshold: the cap (with the highest target it allows) or too few labelled queries (with how many)", async () => {
    // 60 labelled queries of 5 candidates; 3 have their relevant candidate at rank 5, beyond max_keep 3
    const qs = Array.from({ length: 60 }, (_, i) => ({
      scores: [1, 0.9, 0.8, 0.7, 0.6].map((x) => x + i / 1000),
      relevance: [0, 1, 2, 3, 4].map((r) => Number(r === (i < 3 ? 4 : 0))),
    }));
    const gate = uniqueGate("recall-tradeoff-cap");
    const c = (await upload(body(gate, qs, { kind: "recall", target: 0.9, max_keep: 3 }))).calibration;
    const nulls = { threshold: null, coverage_bound: null, drop_rate: null, empty_context_rate: null };
    const highest = 1 - 4 / 61;
    const expected = [
      { target: 0.95, ...nulls, unfit_reason: "target_unreachable", minimum_queries: null, highest_target: highest },
      { target: 0.98, ...nulls, unfit_reason: "target_unreachable", minimum_queries: null, highest_target: highest },
      { target: 0.99, ...nulls, unfit_reason: "too_few_labelled_queries", minimum_queries: 99, highest_target: null },
    ];
    expect(c.recall!.tradeoff.slice(-3)).toEqual(expected);
    expect(c.recall!.tradeoff.find((r) => r.target === 0.9)).toMatchObject({ threshold: c.threshold, unfit_reason: null });
    // stored as answered
    const read = await callJson("GET", `/v1/calibrations/${c.id}`, 200, { token: TOKENS.read });
    expect(read.recall!.tradeoff.slice(-3)).toEqual(expected);
    // the reason is the 422 a fit at that target gets
    const far = (await refused(body(gate, qs, { kind: "recall", target: 0.95, max_keep: 3 }))).error;
    expect(far).toMatchObject({ code: "target_unreachable", details: { highest_target: highest, lost: 3 } });
  });

  it("serves a finite threshold when min_keep alone gives the guarantee and no calibration candidate lies past it", async () => {
    // Every calibration query has at most min_keep (5) candidates, so the guard keeps them all and nothing is left for
    // a threshold to decide. null would serve "keep every candidate": a 10-candidate production query kept whole.
    const gate = uniqueGate("recall-guard-only");
    const qs = labelledQueries(17, 40, 5);
    const res = await upload(body(gate, qs, { kind: "recall", target: 0.8, min_keep: 5 }));
    const highest = Math.max(...qs.flatMap((q) => q.scores));
    expect(res.calibration.threshold).toBe(highest);
    expect(res.calibration.recall!.in_sample_coverage).toBe(1);
    const served = await callJson("GET", `/v1/threshold?${new URLSearchParams(gate as Record<string, string>)}`, 200, { token: TOKENS.read });
    expect(served).toMatchObject({ threshold: highest, guards: { min_keep: 5, max_keep: null } });
    // A longer production query keeps its top 5, and more only above everything the calibration saw.
    const production = [highest + 0.5, ...Array.from({ length: 9 }, (_, i) => highest - 0.01 * (i + 1))];
    const kept = (threshold: number | null) =>
      decideQuery(production, { threshold, minKeep: 5, maxKeep: null, abstainBelow: null }).kept.filter(Boolean);
    expect(kept(served.threshold)).toHaveLength(5);
    expect(kept(null)).toHaveLength(10);
  });
});
