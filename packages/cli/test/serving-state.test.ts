/**
 * What a gate serves besides its current calibration, in the human output, against a stub server: `threshold` prints
 * an open promotion's split (the candidate's share of keyed requests with its own threshold, guards and abstention) and
 * the shadows; `gates` prints each served gate's guards, split and shadows (read from its threshold: the listing
 * carries none); `history` says where promotion steps are read; `shadow` prints its drift window's alarms and exits 3
 * on one. Every answer here is checked against the contract first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GateList, ShadowList, ThresholdResponse } from "../../../src/contract";
import { GATES_READS_IN_FLIGHT } from "../src/commands";
import { responses } from "./support/responses";
import { cli } from "./support/run";
import { type StubServer, startStubServer } from "./support/stub-server";

let stub: StubServer;
beforeAll(async () => {
  stub = await startStubServer();
});
afterAll(() => stub.close());

const env = () => ({ SCOREGATE_URL: stub.url, SCOREGATE_TOKEN: "stub-token" });
const GATE = ["--index", "docs", "--embedding", "intfloat/e5-large-v2", "--reranker", "BAAI/bge-reranker-v2-m3"];

/** The recorded threshold answer, with guards and abstention, during a 50 % promotion, with one shadow. */
function split(): ThresholdResponse {
  const t = responses.threshold();
  const cal = t.calibration_id;
  return ThresholdResponse.parse({
    ...t,
    threshold: 0.431,
    guards: { min_keep: 2, max_keep: 8 },
    abstain_below: 0.5113,
    rollout: {
      promotion_id: "prm_0000000001",
      step: 1,
      percent_bp: 5000,
      salt: "prm_0000000001",
      state: "running",
      candidate: {
        calibration_id: "cal_c3",
        index_version: "v3",
        threshold: 0.2207,
        expected_drop_rate: 0.18,
        guards: { min_keep: 1, max_keep: null },
        abstain_below: 0.3037,
      },
    },
    shadows: [
      {
        calibration_id: "cal_s4",
        index_version: "v4",
        threshold: 0.3,
        expected_drop_rate: 0.25,
        guards: { min_keep: 0, max_keep: null },
        abstain_below: null,
        sample_rate: 0.1,
        since_seq: 12,
      },
    ],
    // the stub answers the recorded gate's current calibration
    calibration_id: cal,
  });
}

/** Answers each path with its body (404 for any other); records the paths asked. */
function serve(routes: Record<string, unknown>): string[] {
  const asked: string[] = [];
  stub.handle((req) => {
    const url = new URL(req.url ?? "/", stub.url);
    asked.push(url.pathname);
    const body = routes[url.pathname];
    return body === undefined ? { status: 404, body: { error: { code: "not_found", message: "no such route" } } } : { status: 200, body };
  });
  return asked;
}

describe("scoregate threshold during a promotion, with shadows", () => {
  it("prints the split, the candidate's own threshold, guards and abstention, and each shadow", async () => {
    const t = split();
    serve({ "/v1/threshold": t });
    const r = await cli(["threshold", ...GATE], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("0.431");
    expect(lines.slice(4)).toEqual([
      "  guards        keep at least 2, at most 8 candidates per query",
      "  abstention    a query abstains when its top score is below 0.5113",
      "  promotion     prm_0000000001 running, step 2: 50.0 % of keyed requests are served the candidate below; the rest, and requests without a key, the lines above",
      "    candidate   cal_c3 (index version v3): threshold 0.2207, expected drop 18.0 %",
      "    guards      keep at least 1 candidate per query",
      "    abstention  a query abstains when its top score is below 0.3037",
      "  shadow        cal_s4 (index version v4), 10.0 % of queries mirrored, threshold 0.3, expected drop 25.0 %; never served",
      "",
    ]);
  });

  it("prints neither without a promotion or shadows, nor from a server before promotions", async () => {
    const t = responses.threshold();
    serve({ "/v1/threshold": t });
    const r = await cli(["threshold", ...GATE], env());
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("promotion");
    expect(r.stdout).not.toContain("shadow");
    const { rollout: _r, shadows: _s, ...old } = t;
    serve({ "/v1/threshold": old });
    const o = await cli(["threshold", ...GATE], env());
    expect([o.code, o.stdout]).toEqual([r.code, r.stdout]);
  });

  it("a rollout that is not one is not scoregate's answer: exit 1", async () => {
    serve({ "/v1/threshold": { ...responses.threshold(), rollout: { promotion_id: "prm_1" } } });
    const r = await cli(["threshold", ...GATE], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not a scoregate threshold");
  });
});

describe("scoregate gates", () => {
  const gate = (current: string | null, reranker: string) => ({
    gate_id: `g-${reranker}`,
    index: "docs",
    embedding: "intfloat/e5-large-v2",
    reranker,
    created_at: "2026-12-01T00:00:00.000Z",
    current_calibration_id: current,
    active:
      current === null
        ? []
        : [{ index_version: "v2", calibration_id: current, threshold: 0.431, expected_drop_rate: 0.2, activated_at: "2026-12-02T00:00:00.000Z" }],
  });

  it("prints a served gate's guards, open promotion and shadows, read from its threshold; --json the listing alone", async () => {
    const t = split();
    const list = GateList.parse({ gates: [gate(t.calibration_id, "BAAI/bge-reranker-v2-m3"), gate(null, "new")], next_cursor: null });
    const queries: URLSearchParams[] = [];
    stub.handle((req) => {
      const url = new URL(req.url ?? "/", stub.url);
      if (url.pathname === "/v1/gates") return { status: 200, body: list };
      queries.push(url.searchParams);
      return { status: 200, body: t };
    });
    const r = await cli(["gates"], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      `docs / intfloat/e5-large-v2 / BAAI/bge-reranker-v2-m3  (gate g-BAAI/bge-reranker-v2-m3; current ${t.calibration_id})`,
      `  v2           threshold 0.431      expected drop 20.0 %  ${t.calibration_id}  since 2026-12-02T00:00:00.000Z`,
      "  guards       keep at least 2, at most 8 candidates per query; abstains below 0.5113",
      "  promotion    prm_0000000001 running, step 2: 50.0 % of keyed requests on cal_c3 (index version v3), threshold 0.2207; keep at least 1 candidate per query; abstains below 0.3037",
      "  shadow       cal_s4 (index version v4), 10.0 % of queries mirrored, threshold 0.3, expected drop 25.0 %",
      "docs / intfloat/e5-large-v2 / new  (gate g-new; current none)",
      "",
    ]);
    // one threshold read, of the served gate by its names
    expect(queries.map((q) => Object.fromEntries(q))).toEqual([
      { index: "docs", embedding: "intfloat/e5-large-v2", reranker: "BAAI/bge-reranker-v2-m3" },
    ]);
    queries.length = 0;
    const j = await cli(["gates", "--json"], env());
    expect(JSON.parse(j.stdout)).toEqual(list);
    expect(queries).toEqual([]);
  });

  it("with more than one active version, the rule's line names the current calibration's version it belongs to", async () => {
    const t = split();
    const g = gate(t.calibration_id, "BAAI/bge-reranker-v2-m3");
    // v3 pinned by older clients, listed after the current v2: the rule is v2's, not the line above it
    g.active.push({
      index_version: "v3",
      calibration_id: "cal_v3",
      threshold: 0.52,
      expected_drop_rate: 0.3,
      activated_at: "2026-12-01T00:00:00.000Z",
    });
    stub.handle((req) => {
      const url = new URL(req.url ?? "/", stub.url);
      return url.pathname === "/v1/gates" ? { status: 200, body: GateList.parse({ gates: [g], next_cursor: null }) } : { status: 200, body: t };
    });
    const lines = (await cli(["gates"], env())).stdout.split("\n");
    expect(lines[3]).toBe(`  guards       ${t.index_version} (current): keep at least 2, at most 8 candidates per query; abstains below 0.5113`);
  });

  it("reads the served gates' thresholds GATES_READS_IN_FLIGHT at a time and prints them in the listing's order", async () => {
    const n = 20;
    const base = responses.threshold();
    const list = GateList.parse({ gates: Array.from({ length: n }, (_, i) => gate(`cal_${i}`, `r${i}`)), next_cursor: null });
    let inFlight = 0;
    let most = 0;
    let release: () => void = () => {};
    let full = new Promise<void>((r) => {
      release = r;
    });
    stub.handle((req) => {
      const url = new URL(req.url ?? "/", stub.url);
      if (url.pathname === "/v1/gates") return { status: 200, body: list };
      const i = Number(url.searchParams.get("reranker")!.slice(1));
      inFlight++;
      most = Math.max(most, inFlight);
      // Held until the CLI has its reads in flight (or, the last few, a moment), then answered the later ones first; a
      // read counts as in flight until its answer is sent.
      if (inFlight === GATES_READS_IN_FLIGHT) release();
      const held = Promise.race([full, new Promise((r) => setTimeout(r, 500))])
        .then(() => new Promise((r) => setTimeout(r, (n - i) * 2)))
        .then(() => {
          inFlight--;
          if (inFlight === 0)
            full = new Promise<void>((r) => {
              release = r;
            });
        });
      return { status: 200, body: { ...base, calibration_id: `cal_${i}`, threshold: i / 100 }, after: held };
    });
    const r = await cli(["gates"], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(most).toBe(GATES_READS_IN_FLIGHT);
    const heads = r.stdout.split("\n").filter((l) => l.startsWith("docs / "));
    expect(heads).toEqual(Array.from({ length: n }, (_, i) => `docs / intfloat/e5-large-v2 / r${i}  (gate g-r${i}; current cal_${i})`));
  });

  it("a served gate without guards, promotion or shadows prints its versions only", async () => {
    const t = responses.threshold();
    serve({ "/v1/gates": { gates: [gate(t.calibration_id, "BAAI/bge-reranker-v2-m3")], next_cursor: null }, "/v1/threshold": t });
    const r = await cli(["gates"], env());
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toHaveLength(3);
  });
});

describe("scoregate history", () => {
  it("says where promotion steps are read, after the activations", async () => {
    const activation = {
      id: "act_1",
      gate_id: "g1",
      index_version: "v2",
      calibration_id: "cal_v2",
      previous_calibration_id: "cal_v1",
      activated_at: "2026-12-05T00:00:00.000Z",
      actor: "promotion",
      reason: "promotion prm_0000000001 completed",
    };
    serve({ "/v1/calibrations": { gate_id: "g1", calibrations: [], activations: [activation], next_cursor: null } });
    const r = await cli(["history", ...GATE], env());
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").slice(-3)).toEqual([
      "  2026-12-05T00:00:00.000Z  cal_v2 (v2) by promotion, replacing cal_v1: promotion prm_0000000001 completed",
      "  promotion steps (started, advanced, paused, resumed, rolled back, superseded) are not listed here: scoregate promotion ID prints them (ID: prm_... or the calibration promoted); GET /v1/gates/g1/promotions lists the gate's promotions",
      "",
    ]);
  });
});

describe("scoregate shadow: its drift window's alarms", () => {
  const rate = (observed: number, expected: number, alarm: boolean) => ({
    observed,
    expected,
    band: { lo: expected - 0.02, hi: expected + 0.02 },
    log_evidence: alarm ? 20 : 0.5,
    alarm,
    armed: true,
    not_armed_reason: null,
    evidence_since: null,
    evidence_queries: null,
  });
  const decision = (d: string) => ({
    decision: d,
    change: 0,
    interval95: [-0.01, 0.01],
    tolerance: 0.02,
    queries: 1000,
    reference_queries: 1000,
    effective_queries: 1000,
    more_data_factor: null,
  });
  /** A shadow equivalent on both comparisons, whose window's abstention is `abstained` against 10 % expected. */
  function shadows(o: { abstained: number; alarm: boolean; alarms: number }) {
    return ShadowList.parse({
      gate_id: "g1",
      active_calibration_id: "cal_v1",
      shadows: [
        {
          calibration_id: "cal_c5",
          index_version: "v5",
          sample_rate: 0.2,
          since: "2026-12-05T00:00:00.000Z",
          since_seq: 3,
          queries: 1000,
          drop_rate: 0.2,
          expected_drop_rate: 0.2,
          vs_target: decision("equivalent"),
          vs_active: decision("equivalent"),
          drift: {
            calibration_id: "cal_c5",
            index_version: "v5",
            started_at: "2026-12-05T00:00:00.000Z",
            ends_at: "2026-12-06T00:00:00.000Z",
            batches: 10,
            queries: 1000,
            candidates: 10000,
            dropped: 2000,
            empty_queries: 0,
            design_effect: 1,
            log_threshold: 18.6,
            drop_rate: rate(0.2, 0.2, false),
            empty_context: null,
            abstention_queries: 1000,
            abstained_queries: Math.round(1000 * o.abstained),
            abstention: rate(o.abstained, 0.1, o.alarm),
            mean_candidates: 10,
            expected_mean_candidates: 10,
            candidates_per_query: { change: "none", strata: [] },
            alarms: o.alarms,
            score_sample: { size: 0, seen: 0, drop_rate_at_threshold: null, ks: null },
          },
        },
      ],
    });
  }
  const routes = (list: ShadowList) => ({ "/v1/calibrations/cal_c5": { id: "cal_c5", gate_id: "g1", active: false }, "/v1/gates/g1/shadows": list });

  it("prints the abstention alarm with its rates and exits 3, however equivalent its drop rate", async () => {
    serve(routes(shadows({ abstained: 0.5, alarm: true, alarms: 1 })));
    const r = await cli(["shadow", "cal_c5"], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(3);
    expect(r.stdout.split("\n").slice(-3)).toEqual([
      "  drift alarm   abstention 50.0 % against 10.0 % expected",
      "                the shadow's drift window (since 2026-12-05T00:00:00.000Z) alarmed 1 time(s); a shadow never alerts the gate",
      "",
    ]);
  });

  it("an alarm whose test has restarted since is still counted: exit 3", async () => {
    serve(routes(shadows({ abstained: 0.5, alarm: false, alarms: 2 })));
    const r = await cli(["shadow", "cal_c5"], env());
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      "\n  drift alarm   the shadow's drift window (since 2026-12-05T00:00:00.000Z) alarmed 2 time(s); a shadow never alerts the gate\n",
    );
  });

  it("a test that alarms before the window counted it: its line, and that a shadow never alerts the gate", async () => {
    serve(routes(shadows({ abstained: 0.5, alarm: true, alarms: 0 })));
    const r = await cli(["shadow", "cal_c5"], env());
    expect(r.code).toBe(3);
    expect(r.stdout.split("\n").slice(-3)).toEqual([
      "  drift alarm   abstention 50.0 % against 10.0 % expected",
      "                a shadow never alerts the gate",
      "",
    ]);
  });

  it("without an alarm: no drift line, exit 0 on an equivalent decision", async () => {
    serve(routes(shadows({ abstained: 0.1, alarm: false, alarms: 0 })));
    const r = await cli(["shadow", "cal_c5"], env());
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("drift");
  });
});
