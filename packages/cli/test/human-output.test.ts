/**
 * What a person reads: the CLI's summaries of real server answers (test/fixtures/responses.json, checked against the
 * contract) print rates as percentages, rate differences and their intervals in points, and no raw float.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shiftVerdict } from "../src/calibrate";
import { responses } from "./support/responses";
import { cli } from "./support/run";
import { type StubServer, startStubServer } from "./support/stub-server";

let stub: StubServer;
beforeAll(async () => {
  stub = await startStubServer();
});
afterAll(() => stub.close());

const env = () => ({ SCOREGATE_URL: stub.url, SCOREGATE_TOKEN: "stub-token" });
const calibrate = () =>
  cli(["calibrate", "-", "--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--carry", "--format", "text"], env(), "0.1\n0.2\n0.3\n");

/** A decimal with more than 6 significant digits: a float printed raw. */
const RAW_FLOAT = /\d\.\d{7,}|\d{2,}\.\d{6,}/u;
/** "<estimate> points (95 %: <low> to <high> points), tolerance <t> points" of the shift line. */
const CHANGE = /: ([+-]?\d+\.\d) points \(95 %: ([+-]?\d+\.\d) to ([+-]?\d+\.\d) points\), tolerance (\d+\.\d) points/u;

describe("calibrate's summary of a real shift report", () => {
  it("prints the change and its 95 % interval both in points: the contract's change_interval_95 is in rates", async () => {
    const body = responses.shifted();
    const shift = body.shift!;
    // the recorded walk-through: the old gate 0.4 dropped 22 % of v1 and drops 59 % of v2
    expect(shift.change_points).toBeCloseTo(37, 6);
    expect(shift.change_interval_95[1]).toBeLessThan(1);
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate();
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("the previous threshold 0.4 drops 59.0 % of the new scores against 22.0 % before: +37.0 points");
    const m = CHANGE.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const [estimate, low, high, tolerance] = m!.slice(1).map(Number) as [number, number, number, number];
    // an interval in the estimate's unit holds the estimate
    expect(low).toBeLessThanOrEqual(estimate);
    expect(high).toBeGreaterThanOrEqual(estimate);
    expect([low, high]).toEqual(shift.change_interval_95.map((x) => Number((100 * x).toFixed(1))));
    expect(tolerance).toBe(2);
  });

  it.each(["shifted", "equivalent", "inconclusive"] as const)(
    "the %s report says its numbers once: the server's reason adds only its verdict",
    async (decision) => {
      const body = responses[decision]();
      stub.handle(() => ({ status: 201, body }));
      const r = await calibrate();
      // the numbers' sentence once (the CLI's line), then the verdict the reason gives after it
      expect(r.stdout.match(/the previous threshold /gu)?.length, r.stdout).toBe(1);
      const verdict = body.shift!.reason.slice(body.shift!.reason.indexOf("): ") + 3);
      expect(verdict.startsWith(decision)).toBe(true);
      expect(r.stdout).toContain(`\n  ${verdict.replace(/(\d\.\d{4})\d+/gu, "$1")}`.slice(0, 40));
    },
  );

  it("shiftVerdict keeps the guards' words and the notes, and prints a reason of another shape whole", () => {
    const head =
      "the previous threshold 0.400076 with its guards (min_keep 3, max_keep none) drops 59.0 % of the new scores against 22.0 % before (+37.0 points, 95 % interval 34.4..39.6 points)";
    const verdict =
      "shifted, beyond the 2.0-point tolerance (minimum-effect test, level 0.001). Not alerted: a rollback to the calibration served before this one";
    expect(shiftVerdict(`${head}: ${verdict}`)).toEqual({ guarded: " with its guards (min_keep 3, max_keep none)", verdict });
    const alone =
      "the previous threshold 0.4 alone (its guards left out: the new scores are not per query, so they cannot be applied; both sides compared bare) drops 3.6 % of the new scores against 22.0 % before (-18.4 points, 95 % interval -20.1..-16.6 points): inconclusive, too little data";
    expect(shiftVerdict(alone)).toEqual({
      guarded: " alone (its guards left out: the new scores are not per query, so they cannot be applied; both sides compared bare)",
      verdict: "inconclusive, too little data",
    });
    const whole = "the previous calibration kept every candidate (no gate), so no drop rate can move";
    expect(shiftVerdict(whole)).toEqual({ guarded: "", verdict: whole });
  });

  it.each(["equivalent", "inconclusive"] as const)("the %s report's interval holds its estimate too", async (decision) => {
    const body = responses[decision]();
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate();
    const m = CHANGE.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const [estimate, low, high] = m!.slice(1).map(Number) as [number, number, number];
    expect(low).toBeLessThanOrEqual(estimate);
    expect(high).toBeGreaterThanOrEqual(estimate);
    expect(estimate).toBe(Number(body.shift!.change_points.toFixed(1)));
  });

  it.each(["first", "shifted", "equivalent", "inconclusive"] as const)("the %s summary prints no raw float", async (name) => {
    const body = responses[name]();
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate();
    expect(r.stdout).toContain("Decision:");
    expect(r.stdout).not.toMatch(RAW_FLOAT);
  });

  it("a p-value below 0.001 (0 when it underflowed) prints as p < 0.001, not p = 0.0", async () => {
    const body = responses.shifted();
    body.shift = { ...body.shift!, p_value: 0 };
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate();
    expect(r.stdout).toMatch(/\n {2}z = [-\d.]+, p < 0\.001, KS /u);
    expect(r.stdout).not.toContain("p = 0.0,");
    const equivalent = responses.equivalent();
    stub.handle(() => ({ status: 201, body: equivalent }));
    expect((await calibrate()).stdout).toContain(`, p = ${equivalent.shift!.p_value.toPrecision(2)}, KS `);
  });

  it("short-query strata predicted from longer queries (none of the file's queries that short) say so; counted ones are not marked", async () => {
    const body = responses.first();
    const strata = body.calibration.per_query!.empty_context_by_candidates!;
    // the recorded upload has 20 candidates a query: its 1-, 2- and 3-candidate strata are hypergeometric predictions
    expect(strata.slice(0, 3).map((s) => [s.source, s.own_queries])).toEqual([
      ["hypergeometric", 0],
      ["hypergeometric", 0],
      ["hypergeometric", 0],
    ]);
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate();
    expect(r.stdout).toMatch(
      /\n {2}left empty {2}at 1 \/ 2 \/ 3 candidates a query: [\d.]+ % \/ [\d.]+ % \/ [\d.]+ % \(predicted from longer queries: the file has no query this short\)\n/u,
    );
    // one stratum counted on the file's own queries: only the others are marked
    strata[0] = { ...strata[0]!, source: "observed", own_queries: 120, own_empty: 30, queries: 120, empty: 30, rate: 0.25 };
    stub.handle(() => ({ status: 201, body }));
    expect((await calibrate()).stdout).toMatch(/a query: 25\.0 % \/ [\d.]+ % \(predicted\) \/ [\d.]+ % \(predicted\)\n/u);
  });

  it("server-written text with a raw float reads rounded; the --json output keeps it exact", async () => {
    const body = responses.first();
    body.warnings = [{ code: "small_sample", message: "the drop rate's 95 % interval is wider than +-1 point at target 0.3225806451612903" }];
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate();
    expect(r.stdout).toContain("Warning (small_sample): the drop rate's 95 % interval is wider than +-1 point at target 0.3226");
    const j = await cli(
      ["calibrate", "-", "--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--carry", "--format", "text", "--json"],
      env(),
      "0.1\n",
    );
    expect(JSON.parse(j.stdout).warnings[0].message).toContain("at target 0.3225806451612903");
  });
});

describe("the server's warnings in calibrate's summary", () => {
  it("come right after the headline, every code (today's flat_scores, a new_gate with its similar gates), with the CLI's way to act", async () => {
    const body = responses.first();
    body.warnings = [
      { code: "flat_scores", message: "scores were uploaded flat, so how strongly the candidates of one query move together cannot be estimated" },
      // a first upload of a gate whose name is close to calibrated ones (src/calibrations/gate-names.ts's wording), with
      // the similar gates in details as a server may add them
      {
        code: "new_gate",
        message:
          "this upload creates the gate index=default embedding=intfloat/e5-large-v3 reranker=bge; calibrated gates with similar names exist: index=default embedding=intfloat/e5-large-v2 reranker=bge",
        details: { similar: [{ index: "default", embedding: "intfloat/e5-large-v2", reranker: "bge" }] },
      } as (typeof body.warnings)[number],
      { code: "some_future_code", message: "a warning this CLI does not know yet" },
    ];
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate();
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^Calibrated /u);
    expect(lines.slice(1, 8)).toEqual([
      "Warning (flat_scores): scores were uploaded flat, so how strongly the candidates of one query move together cannot be estimated",
      "  with this CLI: name the file's query column (--query-column NAME), or write one JSONL array per query",
      "Warning (new_gate): this upload creates the gate index=default embedding=intfloat/e5-large-v3 reranker=bge; calibrated gates with similar names exist: index=default embedding=intfloat/e5-large-v2 reranker=bge",
      "  gates with similar names, as flags:",
      "    --index default --embedding intfloat/e5-large-v2 --reranker bge",
      "  if a name is mistyped, this upload made a new gate: check --index, --embedding and --reranker (scoregate gates lists the gates)",
      "Warning (some_future_code): a warning this CLI does not know yet",
    ]);
    // said once
    expect(r.stdout.match(/Warning \(flat_scores\)/gu)).toHaveLength(1);
  });

  it("a monitor_not_armed warning points at scoregate monitor", async () => {
    const body = responses.first();
    body.warnings = [
      {
        code: "monitor_not_armed",
        message:
          "the production monitor's drop-rate test will not be armed on this calibration: 30 scores leave the gate's own drop rate (expected 51.61 %) uncertain by more than 25 points at the monitor's level. About 43 scores arm it",
      },
    ];
    stub.handle(() => ({ status: 201, body }));
    const lines = (await calibrate()).stdout.split("\n");
    expect(lines.slice(1, 3)).toEqual([
      "Warning (monitor_not_armed): the production monitor's drop-rate test will not be armed on this calibration: 30 scores leave the gate's own drop rate (expected 51.61 %) uncertain by more than 25 points at the monitor's level. About 43 scores arm it",
      "  with this CLI: scoregate monitor shows each production test and whether it is armed (calibration_too_small until a larger upload is served)",
    ]);
  });
});

describe("the other commands' summaries", () => {
  it("threshold: four significant digits, the exact value on its own line when they differ", async () => {
    const body = responses.threshold();
    body.threshold = 0.3413920512587824;
    stub.handle(() => ({ status: 200, body }));
    const r = await cli(["threshold", "--embedding", "e", "--reranker", "r"], env());
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("0.3414");
    expect(lines[1]).toBe("  exact         0.3413920512587824");
    expect(r.stdout).toContain("drop rate     expected 22.0 %; policy carry the reference's own threshold; scale unbounded");
    stub.handle(() => ({ status: 200, body: responses.threshold() }));
    const plain = await cli(["threshold", "--embedding", "e", "--reranker", "r"], env());
    expect(plain.stdout.split("\n")[0]).toBe("0.1491");
    expect(plain.stdout).not.toContain("exact");
    expect(plain.stdout).not.toMatch(/guards|abstention/u);
    stub.handle(() => ({ status: 200, body: { ...responses.threshold(), guards: { min_keep: 2, max_keep: 8 }, abstain_below: 0.41234 } }));
    const guarded = await cli(["threshold", "--embedding", "e", "--reranker", "r"], env());
    expect(guarded.stdout).toContain("  guards        keep at least 2, at most 8 candidates per query");
    expect(guarded.stdout).toContain("  abstention    a query abstains when its top score is below 0.4123");
  });

  it("history: a page of a longer history says so; one calibration is one", async () => {
    const cal = responses.first().calibration;
    stub.handle(() => ({ status: 200, body: { gate_id: cal.gate_id, calibrations: [cal], activations: [], next_cursor: "c2" } }));
    const page = await cli(["history", "--embedding", "e", "--reranker", "r", "--limit", "1"], env());
    expect(page.stdout.split("\n")[0]).toBe(`Gate default / e / r (gate ${cal.gate_id}): 1 calibration on this page, newest first`);
    expect(page.stdout).toContain("More: --cursor c2");
    stub.handle(() => ({ status: 200, body: { gate_id: cal.gate_id, calibrations: [cal, cal], activations: [], next_cursor: null } }));
    const all = await cli(["history", "--embedding", "e", "--reranker", "r"], env());
    expect(all.stdout.split("\n")[0]).toBe(`Gate default / e / r (gate ${cal.gate_id}): 2 calibrations, newest first`);
  });

  it("calibrate: a threshold without an interval (too few scores) says so instead of none to none", async () => {
    const body = responses.first();
    body.calibration.threshold_interval_95 = [null, null];
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate();
    expect(r.stdout).toMatch(/\n {2}threshold {3}[-\d.]+ {2}\(95 %: too few scores for an interval\)\n/u);
    expect(r.stdout).not.toContain("none to none");
  });
});
