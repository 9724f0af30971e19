/**
 * `scoregate monitor` against a stub server: the gate's drift state and windows (GET /v1/monitor), and, once services
 * report candidates without a score, each window's unscored count and share of its reported candidates and the gate's
 * unresolved unscored_candidates alert (GET /v1/alerts), in the human output and in --json. A gate whose services never
 * report one prints no unscored figure. A recall gate's coverage tests are printed from a real answer of the local
 * worker (support/responses.ts, checked against the contract's MonitorStatus).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAlert } from "../../../test/support/alert-record";
import { responses } from "./support/responses";
import { cli } from "./support/run";
import { type StubServer, startStubServer } from "./support/stub-server";

let stub: StubServer;
beforeAll(async () => {
  stub = await startStubServer();
});
afterAll(() => stub.close());

const env = () => ({ SCOREGATE_URL: stub.url, SCOREGATE_TOKEN: "stub-token" });
const GATE = ["--index", "docs", "--embedding", "e5", "--reranker", "bge"];

const rate = (observed: number | null, expected: number) => ({
  observed,
  expected,
  band: { lo: expected - 0.02, hi: expected + 0.02 },
  log_evidence: 0.5,
  alarm: false,
  armed: true,
  not_armed_reason: null,
  evidence_since: null,
  evidence_queries: null,
});

/** A window as GET /v1/monitor reports it (the fields the command reads, and a few it does not). */
function window(o: { started_at: string; candidates: number; unscored?: number; role?: string; open?: boolean }) {
  return {
    calibration_id: "cal_v2",
    index_version: "v2",
    role: o.role ?? "active",
    started_at: o.started_at,
    ends_at: new Date(Date.parse(o.started_at) + 86_400_000).toISOString(),
    batches: 12,
    queries: 1200,
    candidates: o.candidates,
    ...(o.unscored === undefined ? {} : { unscored_candidates: o.unscored }),
    dropped: Math.round(o.candidates * 0.21),
    empty_queries: 0,
    design_effect: 1,
    log_threshold: 6.9,
    drop_rate: rate(0.21, 0.2),
    empty_context: null,
    mean_candidates: 10,
    expected_mean_candidates: 10,
    candidates_per_query: { change: "none", strata: [] },
    alarms: 0,
    score_sample: { size: 0, seen: 0, drop_rate_at_threshold: null, ks: null },
  };
}

const monitorOf = (windows: unknown[], history: unknown[], state: Record<string, unknown> = {}) => ({
  gate_id: "g1",
  state: { state: "watching", since: null, kinds: [], alert_ids: [], alerts: [], queries_to_arm: null, ...state },
  windows,
  history,
  recall: [],
  queued_ingest: { batches: 0, duplicates: 0, rejected: 0, last_at: null },
});

const UNSCORED_ALERT = openAlert({
  id: "alr_u1",
  gate_id: "g1",
  gate: { index: "docs", embedding: "e5", reranker: "bge" },
  kind: "unscored_candidates",
  summary:
    "5.2 % of the 12,660 candidates services reported in this window had no score (660 unscored, over the 5.0 % tolerated): a reranker failing or timing out, a wrong score key, scores sent as strings; the drop-rate test reads the 12,000 scored ones",
  first_summary: "...",
  details: { unscored_share: 0.05213270142180095 },
  calibration_ids: ["cal_v2"],
  occurrences: 2,
  first_seen_at: "2026-12-04T13:00:00.000Z",
  last_seen_at: "2026-12-05T09:00:00.000Z",
});

/** Answers GET /v1/monitor with `monitor` and GET /v1/alerts with `alerts`; records each request's URL. */
function serve(monitor: unknown, alerts: unknown[]): URL[] {
  const asked: URL[] = [];
  stub.handle((req) => {
    const url = new URL(req.url ?? "/", stub.url);
    asked.push(url);
    if (url.pathname === "/v1/monitor") return { status: 200, body: monitor };
    if (url.pathname === "/v1/alerts") return { status: 200, body: { alerts, next_cursor: null } };
    return { status: 404, body: { error: { code: "not_found", message: "no such route" } } };
  });
  return asked;
}

describe("scoregate monitor", () => {
  it("prints no unscored figure for a gate whose services never reported one", async () => {
    const asked = serve(
      monitorOf(
        [window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000, unscored: 0 })],
        [window({ started_at: "2026-12-04T00:00:00.000Z", candidates: 11000 })],
      ),
      [],
    );
    const r = await cli(["monitor", ...GATE], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "Gate docs / e5 / bge (gate g1): drift state watching",
        "Open windows (24 h each):",
        "  active     cal_v2 (v2) since 2026-12-05T00:00:00.000Z: 1,200 queries, drop rate 21.0 % (expected 20.0 %, band 18.0 % to 22.0 %), 0 alarm(s)",
        "Finished windows, newest first:",
        "  2026-12-04T00:00:00.000Z  active     cal_v2 (v2)  1,200 queries  drop rate 21.0 %  0 alarm(s)",
        "",
      ].join("\n"),
    );
    expect(r.stdout).not.toContain("unscored");
    // the gate by its names, then its unscored_candidates alerts by the id the monitor answered with
    expect(asked.map((u) => u.pathname)).toEqual(["/v1/monitor", "/v1/alerts"]);
    expect(Object.fromEntries(asked[0]!.searchParams)).toEqual({ index: "docs", embedding: "e5", reranker: "bge" });
    expect(Object.fromEntries(asked[1]!.searchParams)).toEqual({ gate_id: "g1", kind: "unscored_candidates", limit: "1" });
  });

  it("gives each window's unscored count and share of its reported candidates, and the unresolved alert's sentence", async () => {
    serve(
      monitorOf(
        [window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000, unscored: 612 })],
        [
          window({ started_at: "2026-12-04T00:00:00.000Z", candidates: 12000, unscored: 660 }),
          // a window recorded before unscored candidates were counted has none
          window({ started_at: "2026-12-03T00:00:00.000Z", candidates: 11000 }),
        ],
      ),
      [UNSCORED_ALERT],
    );
    const r = await cli(["monitor", ...GATE], env());
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      "Gate docs / e5 / bge (gate g1): drift state watching",
      "Open windows (24 h each):",
      "  active     cal_v2 (v2) since 2026-12-05T00:00:00.000Z: 1,200 queries, drop rate 21.0 % (expected 20.0 %, band 18.0 % to 22.0 %), 0 alarm(s)",
      "             unscored 612 of 12,612 reported candidates (4.9 %)",
      "Finished windows, newest first:",
      "  2026-12-04T00:00:00.000Z  active     cal_v2 (v2)  1,200 queries  drop rate 21.0 %  0 alarm(s)  unscored 660 of 12,660 reported candidates (5.2 %)",
      "  2026-12-03T00:00:00.000Z  active     cal_v2 (v2)  1,200 queries  drop rate 21.0 %  0 alarm(s)  unscored 0",
      "Unscored candidates alert alr_u1, open since 2026-12-04T13:00:00.000Z (x2, last 2026-12-05T09:00:00.000Z):",
      `    ${UNSCORED_ALERT.summary}`,
      "",
    ]);
  });

  it("--json: the server's answer, each window with its unscored share, and the unresolved alert (null when there is none)", async () => {
    serve(
      monitorOf(
        [window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000, unscored: 612 })],
        [window({ started_at: "2026-12-04T00:00:00.000Z", candidates: 0 })],
      ),
      [UNSCORED_ALERT],
    );
    const doc = JSON.parse((await cli(["monitor", ...GATE, "--json"], env())).stdout);
    expect(doc.windows[0].unscored_candidates).toBe(612);
    expect(doc.windows[0].unscored_share).toBeCloseTo(612 / 12612, 12);
    // a window without reported candidates has no share
    expect(doc.history[0].unscored_share).toBeNull();
    expect(doc.unscored_alert.id).toBe("alr_u1");
    expect(doc.state.state).toBe("watching");

    serve(monitorOf([window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000 })], []), []);
    const none = JSON.parse((await cli(["monitor", ...GATE, "--json"], env())).stdout);
    expect(none.windows[0].unscored_share).toBe(0);
    expect(none.unscored_alert).toBeNull();
  });

  it("leaves a resolved unscored_candidates alert out", async () => {
    serve(monitorOf([window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000, unscored: 10 })], []), [
      { ...UNSCORED_ALERT, status: "resolved", resolved_at: "2026-12-05T10:00:00.000Z" },
    ]);
    const r = await cli(["monitor", ...GATE], env());
    expect(r.stdout).toContain("unscored 10 of 12,010 reported candidates (0.1 %)");
    expect(r.stdout).not.toContain("alr_u1");
    expect(JSON.parse((await cli(["monitor", ...GATE, "--json"], env())).stdout).unscored_alert).toBeNull();
  });

  it("prints the windows of a server from before the unscored_candidates kind, which refuses it", async () => {
    stub.handle((req) => {
      const url = new URL(req.url ?? "/", stub.url);
      if (url.pathname === "/v1/monitor")
        return { status: 200, body: monitorOf([window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 100 })], []) };
      return { status: 400, body: { error: { code: "bad_request", message: "kind: must be one of rebuild_shift, ..." } } };
    });
    const r = await cli(["monitor", ...GATE], env());
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("cal_v2 (v2) since 2026-12-05T00:00:00.000Z: 1,200 queries");
    expect(JSON.parse((await cli(["monitor", ...GATE, "--json"], env())).stdout).unscored_alert).toBeNull();
  });

  it("gives an abstaining, guarded calibration's abstention rate and how often min_keep binds, against their expected rates", async () => {
    // a gate with min_keep 2 and abstention: the empty-context test at level 2 counts where the guard binds
    const rules = (abstained: number, bound: number) => ({
      abstention_queries: 1200,
      abstained_queries: Math.round(1200 * abstained),
      abstention: { ...rate(abstained, 0.1), expected_window: 0.101, band_window: { lo: 0.081, hi: 0.121 }, alarm: abstained > 0.2 },
      empty_context_level: 2,
      empty_queries: Math.round(1200 * bound),
      empty_context: rate(bound, 0.2),
    });
    serve(
      monitorOf(
        [{ ...window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000 }), ...rules(0.269, 0.264) }],
        [
          { ...window({ started_at: "2026-12-04T00:00:00.000Z", candidates: 12000 }), ...rules(0.1, 0.2) },
          // a window recorded before abstention and guards were counted has neither
          window({ started_at: "2026-12-03T00:00:00.000Z", candidates: 11000 }),
        ],
      ),
      [],
    );
    const r = await cli(["monitor", ...GATE], env());
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      "Gate docs / e5 / bge (gate g1): drift state watching",
      "Open windows (24 h each):",
      "  active     cal_v2 (v2) since 2026-12-05T00:00:00.000Z: 1,200 queries, drop rate 21.0 % (expected 20.0 %, band 18.0 % to 22.0 %), 0 alarm(s)",
      "             abstention 26.9 % of 1,200 queries that reported it (expected 10.1 % for this window's query sizes, band 8.1 % to 12.1 %), alarm",
      "             min_keep binds on 26.4 % of queries (the threshold alone keeps fewer than min(2, candidates); expected 20.0 %, band 18.0 % to 22.0 %)",
      "Finished windows, newest first:",
      "  2026-12-04T00:00:00.000Z  active     cal_v2 (v2)  1,200 queries  drop rate 21.0 %  abstention 10.0 % (expected 10.1 %)  min_keep binds 20.0 % (expected 20.0 %)  0 alarm(s)",
      "  2026-12-03T00:00:00.000Z  active     cal_v2 (v2)  1,200 queries  drop rate 21.0 %  0 alarm(s)",
      "",
    ]);
  });

  it("says how much of production a stratified test leaves unwatched (sizes the calibration lacks), only below 80 %", async () => {
    // production's queries are much shorter than the calibration's: the abstention test watches 3 % of them
    const abstaining = (share: number, dropShare: number) => ({
      ...window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000 }),
      drop_rate: { ...rate(0.21, 0.2), strata_tested: 6, strata_total: 9, tested_share: dropShare },
      abstention_queries: 1200,
      abstained_queries: 660,
      abstention: { ...rate(0.55, 0.1), strata_tested: 2, strata_total: 6, tested_share: share },
    });
    serve(monitorOf([abstaining(0.03, 0.5)], []), []);
    const lines = (await cli(["monitor", ...GATE], env())).stdout.split("\n");
    expect(lines.slice(3, 6)).toEqual([
      "             the drop-rate test watches 6 of the 9 query sizes the calibration holds, with 50.0 % of production's candidates a threshold decides since its reset: the other 50.0 % are not tested",
      "             abstention 55.0 % of 1,200 queries that reported it (expected 10.0 %, band 8.0 % to 12.0 %)",
      "             the abstention test watches 2 of the 6 query sizes the calibration holds, with 3.0 % of production's queries that reported abstention since its reset: the other 97.0 % are not tested; a certified false-abstention bound does not cover them either: calibrate on queries of the sizes production sends",
    ]);
    // at 80 % and more, or before any query was weighed, nothing is said
    for (const share of [0.8, 1, null]) {
      serve(monitorOf([abstaining(share as number, share as number)], []), []);
      expect((await cli(["monitor", ...GATE], env())).stdout).not.toContain("are not tested");
    }
  });

  it("names the alerts that hold an alarm, and a gate without observations", async () => {
    serve(
      monitorOf([window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000 })], [], {
        state: "alarm",
        since: "2026-12-05T08:00:00.000Z",
        kinds: ["drop_rate_drift"],
        alert_ids: ["alr_d1"],
        alerts: [{ kind: "drop_rate_drift", alert_id: "alr_d1", since: "2026-12-05T08:00:00.000Z" }],
      }),
      [],
    );
    expect((await cli(["monitor", ...GATE], env())).stdout).toMatch(
      /^Gate docs \/ e5 \/ bge \(gate g1\): drift state alarm since 2026-12-05T08:00:00.000Z: drop_rate_drift \(alr_d1\)\n/u,
    );
    serve(monitorOf([], [], { state: "no_observations" }), []);
    expect((await cli(["monitor", ...GATE], env())).stdout).toBe(
      "Gate docs / e5 / bge (gate g1): drift state no observations\nNo open window: no observations today.\n",
    );
  });

  it("a gate not armed says whether waiting helps: queries still needed, or a calibration too small for any test", async () => {
    serve(monitorOf([], [], { state: "not_armed", queries_to_arm: 40 }), []);
    expect((await cli(["monitor", ...GATE], env())).stdout.split("\n")[0]).toBe(
      "Gate docs / e5 / bge (gate g1): drift state not armed: 40 more queries before a test can alarm",
    );
    serve(monitorOf([], [], { state: "not_armed", queries_to_arm: null }), []);
    expect((await cli(["monitor", ...GATE], env())).stdout.split("\n")[0]).toBe(
      "Gate docs / e5 / bge (gate g1): drift state not armed: the served calibration is too small to bound its rates (calibration_too_small), so no test can alarm until a larger one is served",
    );
  });

  it("exits 2 with the server's words for a gate it does not know, and asks nothing more", async () => {
    const asked: string[] = [];
    stub.handle((req) => {
      asked.push(new URL(req.url ?? "/", stub.url).pathname);
      return { status: 404, body: { error: { code: "not_found", message: "gate docs / e5 / bge-typo does not exist" } } };
    });
    const r = await cli(["monitor", "--index", "docs", "--embedding", "e5", "--reranker", "bge-typo"], env());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("gate docs / e5 / bge-typo does not exist");
    expect(r.stderr).toContain("no such gate: check --index, --embedding and --reranker (scoregate gates lists the gates)");
    expect(r.stderr).not.toContain("check the ids");
    expect(asked).toEqual(["/v1/monitor"]);
  });

  it("refuses a gate without its models, and an argument, before any request", async () => {
    stub.reset();
    const missing = await cli(["monitor", "--embedding", "e5"], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing --reranker");
    const extra = await cli(["monitor", ...GATE, "g1"], env());
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain("monitor takes no arguments");
    expect(stub.last().request).toBeNull();
  });
});

describe("scoregate monitor on a recall gate", () => {
  it("in alarm: the guaranteed coverage, the numbers of the test that alarmed, and the restarted test", async () => {
    const m = responses.monitorRecall();
    const t = m.recall[0]!;
    const a = t.alarmed!;
    // the recorded answer: the gate in alarm on recall_drift, no observations, the test restarted on 8 judged queries
    expect(m.state.kinds).toEqual(["recall_drift"]);
    expect([m.windows.length, m.history.length, m.recall.length]).toEqual([0, 0, 1]);
    expect([a.queries, a.covered, t.queries, t.covered, t.queries_without_relevant]).toEqual([50, 18, 8, 7, 2]);
    serve(m, []);
    const r = await cli(["monitor", ...GATE], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      `Gate docs / e5 / bge (gate ${m.gate_id}): drift state alarm since ${m.state.since}: recall_drift (${m.state.alert_ids[0]})`,
      "No open window: no observations today.",
      "Coverage tests (recall, on judged queries; each restarts at its alarm):",
      `  active     ${t.calibration_id} (v1): guaranteed 92.0 % (target 90.0 %, any_relevant), tolerated down to 81.3 %, 1 alarm(s)`,
      `             alarmed at ${a.at}: coverage 36.0 % over 50 judged queries since ${a.since} (95 %: 11.6 % to 67.1 %), evidence ln E 17.6 of 7.6; the test restarted then`,
      `             since ${t.since}: coverage 87.5 % over 8 judged queries (95 %: 44.7 % to 99.8 %), evidence ln E -0.2 of 7.6, watching; 2 judged queries without a relevant candidate (counted, not tested)`,
      "",
    ]);
    // --json is the server's answer: the coverage test as it came
    expect(JSON.parse((await cli(["monitor", ...GATE, "--json"], env())).stdout).recall).toEqual(m.recall);
  });

  it("after the alert is resolved: no alarmed numbers; a test that alarms now, one not armed, and one without judged queries", async () => {
    const m = responses.monitorRecall();
    const t = m.recall[0]!;
    const watching = { ...t, alarmed: null, queries: 1200, covered: 1104, observed: 0.92, queries_without_relevant: 0, alarms: 0 };
    const alarm = { ...t, alarmed: null, alarm: true, log_evidence: 8.04 };
    const tooSmall = { ...t, alarmed: null, role: "previous", index_version: "v0", armed: false, not_armed_reason: "calibration_too_small" };
    const fresh = { ...t, alarmed: null, queries: 0, covered: 0, observed: null, queries_without_relevant: 1, log_evidence: 0 };
    serve(
      {
        ...m,
        state: { ...m.state, state: "watching", since: null, kinds: [], alert_ids: [], alerts: [] },
        recall: [watching, alarm, tooSmall, fresh],
      },
      [],
    );
    const lines = (await cli(["monitor", ...GATE], env())).stdout.split("\n");
    expect(lines.filter((l) => l.includes("alarmed at"))).toEqual([]);
    expect(lines.filter((l) => l.startsWith("             since "))).toEqual([
      `             since ${t.since}: coverage 92.0 % over 1,200 judged queries (95 %: 44.7 % to 99.8 %), evidence ln E -0.2 of 7.6, watching`,
      `             since ${t.since}: coverage 87.5 % over 8 judged queries (95 %: 44.7 % to 99.8 %), evidence ln E 8.0 of 7.6, alarm; 2 judged queries without a relevant candidate (counted, not tested)`,
      `             since ${t.since}: coverage 87.5 % over 8 judged queries (95 %: 44.7 % to 99.8 %), evidence ln E -0.2 of 7.6, not armed: the calibration is too small to bound its own coverage, so the test never alarms; 2 judged queries without a relevant candidate (counted, not tested)`,
      `             since ${t.since}: no judged query with a relevant candidate yet, evidence ln E 0.0 of 7.6, watching; 1 judged query without a relevant candidate (counted, not tested)`,
    ]);
    expect(lines).toContain(
      `  previous   ${t.calibration_id} (v0): guaranteed 92.0 % (target 90.0 %, any_relevant), tolerated down to 81.3 %, 1 alarm(s)`,
    );
    expect(lines).toContain(
      `  active     ${t.calibration_id} (v1): guaranteed 92.0 % (target 90.0 %, any_relevant), tolerated down to 81.3 %, 0 alarm(s)`,
    );
  });

  it("a gate without coverage tests, and a server from before judgments (no recall), print no coverage section", async () => {
    serve(monitorOf([window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000 })], []), []);
    expect((await cli(["monitor", ...GATE], env())).stdout).not.toContain("Coverage");
    const { recall: _r, ...older } = monitorOf([window({ started_at: "2026-12-05T00:00:00.000Z", candidates: 12000 })], []);
    serve(older, []);
    const r = await cli(["monitor", ...GATE], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("1,200 queries");
    expect(r.stdout).not.toContain("Coverage");
  });

  it("an answer whose coverage test is not the contract's is invalid_response, exit 1", async () => {
    const m = responses.monitorRecall();
    serve({ ...m, recall: [{ ...m.recall[0]!, observed: "87.5 %" }] }, []);
    const r = await cli(["monitor", ...GATE], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("a body that is not a scoregate monitor report");
  });
});

describe("scoregate alerts --kind unscored_candidates", () => {
  it("asks for that kind and prints the alert's sentence", async () => {
    const asked = serve(monitorOf([], []), [UNSCORED_ALERT]);
    const r = await cli(["alerts", "--kind", "unscored_candidates", "--status", "open"], env());
    expect(r.code).toBe(0);
    expect(asked[0]!.searchParams.get("kind")).toBe("unscored_candidates");
    expect(r.stdout).toContain("alr_u1  open         unscored_candidates   docs / e5 / bge  (x2, last 2026-12-05T09:00:00.000Z)");
    expect(r.stdout).toContain(`    ${UNSCORED_ALERT.summary}`);
  });
});
