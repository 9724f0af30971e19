/**
 * A guarded, abstaining gate end to end inside workerd: a labelled upload with min_keep, max_keep and certified
 * abstention; GET /v1/threshold serving the guards and abstain_below; a carry at another threshold reading the guarded
 * summary back from D1 and keeping the abstention (its rate, not its guarantee); the SDK's gate() applying them and reporting
 * what the guarded gate did ([m, d, below, abstained]); and the abstention_drift alert when production starts sending
 * questions the corpus cannot answer.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ScoregateClient } from "../packages/client/src";
import { decideQuery } from "../src/stats/guard-rule";
import { eligibleScores, guardedDropCount } from "../src/stats/guarded-gate";
import { flattenQueries } from "../src/stats/per-query";
import { createRng, type Rng } from "./support/prng";
import { call, callJson, qs, TOKENS, uniqueGate } from "./support/worker";

const worker = (exports as unknown as { default: Fetcher }).default;

const CANDIDATES = 10;

/** A query's reranker scores (probabilities): answerable ones have relevant candidates that score high. */
function labelledQuery(rng: Rng, answerable: boolean): { scores: number[]; relevance: number[] } {
  const base = rng.normal() - (answerable ? 0 : 1.5);
  const relevance = Array.from({ length: CANDIDATES }, (_, i) => (answerable && (i === 0 || rng.next() < 0.15) ? 1 : 0));
  const scores = relevance.map((r) => 1 / (1 + Math.exp(-(base + 2 * r + rng.normal()))));
  return { scores, relevance };
}

describe("a guarded, abstaining gate from upload to alert", () => {
  it("fits, serves, gates with the SDK, watches, and raises abstention_drift", async () => {
    const gate = uniqueGate("guards");
    const rng = createRng(20261202);
    const calibration = Array.from({ length: 400 }, (_, i) => labelledQuery(rng, i % 4 !== 0)); // 300 answerable, 100 not

    // Upload: a drop-rate gate with guards and abstention certified at alpha 0.1 on the labels.
    const created = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        score_scale: "probability",
        policy: { kind: "drop_rate", target: 0.4, min_keep: 2, max_keep: 6, abstention: { alpha: 0.1 } },
        queries: calibration.map((q) => q.scores),
        relevance: calibration.map((q) => q.relevance),
      },
    });
    const c = created.calibration;
    expect(c.guards).toMatchObject({ min_keep: 2, max_keep: 6 });
    expect(c.guards!.max_keep_binding_rate).toBeGreaterThan(0);
    expect(Math.abs(c.expected_drop_rate - 0.4)).toBeLessThan(0.01);
    expect(c.abstention).toMatchObject({ mode: "false_abstention", alpha: 0.1, answerable_queries: 300, unanswerable_queries: 100, k: 30 });
    expect(c.abstention!.false_abstention_bound!).toBeLessThanOrEqual(0.1);
    expect(c.abstention!.catch_rate!).toBeGreaterThan(0.5);
    expect(c.abstain_below).toBe(c.abstention!.abstain_below);

    // Nonsense guards are refused with the field's path and nothing stored.
    const refused = await call("POST", "/v1/calibrations", {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v2", policy: { kind: "drop_rate", target: 0.4, min_keep: 3, max_keep: 2 }, queries: [[0.1, 0.2]] },
    });
    expect(refused.status).toBe(422);
    const body = (await refused.json()) as { error: { code: string; message: string; details: { path: string; message: string }[] } };
    expect(body.error.code).toBe("invalid_input");
    expect(body.error.details).toContainEqual({ path: "policy.max_keep", message: "must be at least min_keep" });
    expect(body.error.message).toBe("invalid calibration: policy.max_keep must be at least min_keep");
    // A carry without its reference says it is required; a wrong one lists the forms it takes.
    const carryRefusal = async (policy: object) => {
      const r = await call("POST", "/v1/calibrations", {
        token: TOKENS.calibrate,
        json: { ...gate, index_version: "v2", policy, queries: [[0.1, 0.2]] },
      });
      expect(r.status).toBe(422);
      return ((await r.json()) as { error: { details: { path: string; message: string }[] } }).error.details;
    };
    expect(await carryRefusal({ kind: "carry" })).toContainEqual({ path: "policy.reference", message: "is required" });
    expect(await carryRefusal({ kind: "carry", reference: "activ" })).toContainEqual({
      path: "policy.reference",
      message: 'must be "active", {"calibration_id": "cal_..."} or {"scores": [...]}: the calibration whose drop rate is carried',
    });

    // Served with the threshold.
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(served).toMatchObject({ threshold: c.threshold, guards: { min_keep: 2, max_keep: 6 }, abstain_below: c.abstain_below });

    // A carry to a new gate at another threshold reads the guarded summary back from D1: it inherits the guards and
    // carries what the guarded gate drops there (1,600 eligible scores, all knots: exact), not the bare share.
    const t0 = c.threshold! + 0.05;
    const flat = flattenQueries(calibration.map((q) => q.scores));
    const guardedShare = guardedDropCount(eligibleScores(flat.scores, flat.offsets, { minKeep: 2, maxKeep: 6 }), t0) / flat.scores.length;
    const carried = await callJson("POST", "/v1/calibrations", 200, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        embedding: `${gate.embedding}-next`,
        index_version: "v1",
        dry_run: true,
        policy: { kind: "carry", threshold: t0, reference: { calibration_id: c.id } },
        queries: calibration.map((q) => q.scores),
      },
    });
    expect(carried.calibration.carry).toMatchObject({ reference_drop_rate: guardedShare, reference_guards: { min_keep: 2, max_keep: 6 } });
    expect(carried.calibration.guards).toMatchObject({ min_keep: 2, max_keep: 6 });
    // It keeps the abstention too, as a rate: the false-abstention guarantee does not carry, and the carry says so.
    expect(carried.calibration.abstention).toMatchObject({ mode: "carry", alpha: null, carry: { reference_calibration_id: c.id } });
    expect(carried.warnings.map((w: { code: string }) => w.code)).toContain("false_abstention_not_guaranteed");

    // The SDK's gate() applies them: a query with no good answer abstains, an answerable one keeps 2..6 candidates.
    const client = new ScoregateClient({
      baseUrl: "http://scoregate.test",
      token: TOKENS.read,
      fetch: ((input: RequestInfo | URL, init?: RequestInit) => worker.fetch(String(input), init)) as typeof fetch,
      observations: { timer: false },
    });
    const policy = { threshold: c.threshold, minKeep: 2, maxKeep: 6, abstainBelow: c.abstain_below! };
    const gated = async (scores: number[]) => {
      const r = await client.gate(
        scores.map((score, id) => ({ id, score })),
        { gate, score: (x) => x.score, fallback: null, report: false },
      );
      // The SDK's decision is the server's rule (src/stats/guard-rule.ts).
      const d = decideQuery(scores, policy);
      expect(r.abstain).toBe(d.abstain);
      expect(r.kept.map((x) => x.id)).toEqual(d.kept.flatMap((k, i) => (k ? [i] : [])));
      return d;
    };
    const hopeless = await gated(Array.from({ length: CANDIDATES }, (_, i) => c.abstain_below! - 0.01 - i / 1000));
    expect(hopeless.abstain).toBe(true);
    const good = await gated(Array.from({ length: CANDIDATES }, (_, i) => 0.99 - i / 100));
    expect(good.abstain).toBe(false);
    expect(good.kept.filter(Boolean).length).toBe(6);

    // Production like the calibration, gated and reported by the SDK: its observations carry what the guarded gate
    // did ([m, d, below, abstained]), sent by flush() every 100 queries; no alert.
    const reporter = new ScoregateClient({
      baseUrl: "http://scoregate.test",
      token: TOKENS.read,
      fetch: ((input: RequestInfo | URL, init?: RequestInit) => worker.fetch(String(input), init)) as typeof fetch,
      observations: { timer: false, batchSize: 1000 },
    });
    const monitorWindow = async () => {
      const m = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
      return m.windows.find((w) => w.calibration_id === c.id)!;
    };
    const produce = async (answerableShare: number) => {
      for (let i = 0; i < 100; i++) {
        const scores = labelledQuery(rng, rng.next() < answerableShare).scores;
        await reporter.gate(
          scores.map((score, id) => ({ id, score })),
          { gate, score: (x) => x.score, fallback: null },
        );
      }
      expect(await reporter.flush()).toMatchObject({ sentBatches: 1, failedBatches: 0 });
    };
    for (let b = 0; b < 7; b++) await produce(0.75);
    const steady = await monitorWindow();
    expect(steady.abstention_queries).toBe(700);
    expect(steady.empty_context_level).toBe(2);
    expect(steady.abstention!.armed).toBe(true);
    expect(Math.abs(steady.abstention!.observed! - steady.abstention!.expected)).toBeLessThan(0.06);
    const quiet = await callJson("GET", `/v1/alerts?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(quiet.alerts).toEqual([]);

    // Then most questions have no good answer in the corpus: the abstention rate's detector raises its own alert.
    const raised = async () => (await callJson("GET", `/v1/alerts?kind=abstention_drift&${qs(gate)}`, 200, { token: TOKENS.read })).alerts;
    let batches = 0;
    while (batches < 20 && (await raised()).length === 0) {
      await produce(0.2);
      batches++;
    }
    const alerts = await raised();
    expect(alerts).toHaveLength(1);
    expect(batches).toBeLessThan(10); // detected within 1,000 queries of the change
    // It leads with the rate since the change point, which raised it, then the window's.
    expect(alerts[0]!.summary).toMatch(
      /^\d+\.\d % of the last \d+ production queries abstained \(top score below abstain_below\) against .+; \d+\.\d % of the window's \d+ production queries abstained/u,
    );
  });

  it("a carry from the active calibration keeps its guards and its abstention, and serves both", async () => {
    const gate = uniqueGate("carry-abstains");
    const rng = createRng(20261204);
    const upload = async (index_version: string, policy: object, qs: number[][]) =>
      callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index_version, score_scale: "probability", activate: true, policy, queries: qs },
      });
    const first = Array.from({ length: 400 }, (_, i) => labelledQuery(rng, i % 4 !== 0).scores);
    const ref = (await upload("v1", { kind: "drop_rate", target: 0.3, min_keep: 2, max_keep: 8, abstention: { rate: 0.1 } }, first)).calibration;
    expect(ref.abstain_below).not.toBeNull();

    // The index is rebuilt: the same kind of queries, scored again, carried from what the gate serves.
    const rebuilt = Array.from({ length: 400 }, (_, i) => labelledQuery(rng, i % 4 !== 0).scores);
    const { calibration: c, warnings } = await upload("v2", { kind: "carry", reference: "active" }, rebuilt);
    expect(c.guards).toMatchObject({ min_keep: 2, max_keep: 8 });
    expect(c.abstention).toMatchObject({ mode: "carry", carry: { reference_calibration_id: ref.id, reference_rate: 0.1, reference_queries: 400 } });
    expect(c.abstain_below).toBe(c.abstention!.abstain_below);
    expect(Math.abs(c.abstention!.in_sample_rate - 0.1)).toBeLessThan(1 / 400 + 1e-12);
    expect(warnings.map((w: { code: string }) => w.code)).not.toContain("false_abstention_not_guaranteed");
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(served).toMatchObject({
      calibration_id: c.id,
      threshold: c.threshold,
      guards: { min_keep: 2, max_keep: 8 },
      abstain_below: c.abstain_below,
    });
  });
});
