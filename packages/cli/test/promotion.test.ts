/**
 * `scoregate promote`, `promotion`, `shadow` and `watch` against stub servers: the request each sends, what it prints,
 * its exit codes and usage errors (the shadow stub refuses what the Worker refuses: a second POST of a shadow; the
 * Worker's own answers are in test/promotions/shadow-routes.workerd.test.ts); watch against a stub of the events route
 * (a real text/event-stream) across a forced disconnect, resuming with Last-Event-ID, until interrupted.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Promotion, ServedRollout, ShadowStatus } from "../../../src/contract";
import { frame, gateEvent, type SseStub, startSseStub } from "../../client/test/sse-server";
import { type Io, run } from "../src/main";
import { cli } from "./support/run";
import { type StubAnswer, type StubServer, startStubServer } from "./support/stub-server";

let stub: StubServer;
beforeAll(async () => {
  stub = await startStubServer();
});
afterAll(async () => {
  await stub.close();
});
const env = () => ({ SCOREGATE_URL: stub.url, SCOREGATE_TOKEN: "stub-token" });

const decision = (d: "equivalent" | "shifted" | "inconclusive", change = 0.003) => ({
  decision: d,
  change,
  interval95: [change - 0.01, change + 0.01] as [number, number],
  tolerance: 0.02,
  queries: 640,
  reference_queries: 2100,
  effective_queries: 500,
  more_data_factor: d === "inconclusive" ? 2.5 : null,
});

function promotion(over: Partial<Promotion> = {}): Promotion {
  return {
    id: "prm_0000000001",
    gate_id: "g1",
    candidate_calibration_id: "cal_v2",
    control_calibration_id: "cal_v1",
    plan: { steps: [10, 50, 100], min_queries: 500, on_regression: "rollback", tolerance: 0.02, max_step_hours: 72 },
    state: "running",
    step: 0,
    percent: 10,
    version: 1,
    started_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    actor: "alice",
    evidence: null,
    steps: [
      {
        id: "s1",
        kind: "started",
        cause: "admin",
        step: 0,
        percent: 10,
        seq: 12,
        at: "2026-01-01T00:00:00.000Z",
        actor: "alice",
        reason: null,
        numbers: {},
      },
    ],
    ...over,
  };
}

function shadowStatus(vsActive: ReturnType<typeof decision>, vsTarget = decision("equivalent")): ShadowStatus {
  return {
    calibration_id: "cal_v2",
    index_version: "v2",
    sample_rate: 0.2,
    since: "2026-01-01T00:00:00.000Z",
    since_seq: 11,
    queries: 640,
    drop_rate: 0.223,
    expected_drop_rate: 0.22,
    vs_target: vsTarget,
    vs_active: vsActive,
    drift: null,
  };
}

describe("scoregate promote", () => {
  it("sends the plan (steps, min queries, on regression, tolerance, reason) and prints the promotion", async () => {
    stub.handle(() => ({ status: 201, body: promotion() }));
    const r = await cli(
      [
        ...["promote", "cal_v2", "--steps", "10,50,100", "--min-queries", "500", "--on-regression", "pause", "--tolerance", "0.03"],
        ...["--max-step-hours", "48", "--reason", "v2"],
      ],
      env(),
    );
    expect(r.code).toBe(0);
    expect(stub.last().request!.method).toBe("POST");
    expect(stub.last().request!.url).toBe("/v1/calibrations/cal_v2/promote");
    expect(JSON.parse(stub.last().body)).toEqual({
      steps: [10, 50, 100],
      min_queries: 500,
      on_regression: "pause",
      tolerance: 0.03,
      max_step_hours: 48,
      reason: "v2",
    });
    expect(r.stdout).toMatch(/^Promotion prm_0000000001: cal_v2 over cal_v1, running, step 1 of 3 \(10 % of keyed traffic on the candidate\)/u);
    expect(r.stdout).toContain("steps 10 -> 50 -> 100 %");
  });

  it("--straight is one step of 100; --json prints the server's promotion", async () => {
    stub.handle(() => ({ status: 201, body: promotion({ plan: { ...promotion().plan, steps: [100] }, percent: 100 }) }));
    const r = await cli(["promote", "cal_v2", "--straight", "--json"], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(stub.last().body)).toEqual({ steps: [100] });
    expect(JSON.parse(r.stdout).percent).toBe(100);
  });

  it("--straight prints only what a straight plan does: no query minimum, tolerance, regression rule or step deadline", async () => {
    // the server stores a straight plan with the defaults of the rest, and completes it at once
    const plan = { steps: [100], min_queries: 2000, on_regression: "rollback" as const, tolerance: 0.02, max_step_hours: 72 };
    const started = { ...promotion().steps[0]!, percent: 100, numbers: { plan } };
    const completed = { ...started, id: "s2", kind: "completed" as const, seq: 13 };
    stub.handle(() => ({ status: 201, body: promotion({ plan, state: "completed", percent: 100, steps: [started, completed] }) }));
    const r = await cli(["promote", "cal_v2", "--straight"], env());
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("Promotion prm_0000000001: cal_v2 over cal_v1, completed, step 1 of 1 (the candidate served to everyone)");
    expect(lines[1]).toBe(
      "  plan          straight (steps 100 %): served to everyone at once, then watched by the gate's drift detector; no step to decide",
    );
    expect(r.stdout).not.toMatch(/candidate queries|2,000|tolerance|on regression|72 h/u);
    // a plan in steps still says all of it
    stub.handle(() => ({ status: 201, body: promotion() }));
    expect((await cli(["promote", "cal_v2"], env())).stdout).toContain(
      "  plan          steps 10 -> 50 -> 100 %, at least 500 candidate queries a step, tolerance 2.0 points, on regression rollback, a step pauses after 72 h without a decision",
    );
  });

  it("an override finds the calibration's open promotion and acts on it", async () => {
    const seen: string[] = [];
    stub.handle((req) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === "/v1/calibrations/cal_v2") return { status: 200, body: { id: "cal_v2", gate_id: "g1" } };
      if (req.url?.startsWith("/v1/gates/g1/promotions"))
        return {
          status: 200,
          body: { gate_id: "g1", promotions: [promotion({ id: "prm_old", state: "rolled_back" }), promotion()], next_cursor: null },
        };
      return { status: 200, body: promotion({ state: "paused" }) };
    });
    const r = await cli(["promote", "cal_v2", "--pause", "--reason", "looking"], env());
    expect(r.code).toBe(0);
    expect(seen.at(-1)).toBe("POST /v1/promotions/prm_0000000001/pause");
    expect(JSON.parse(stub.last().body)).toEqual({ reason: "looking" });
    expect(r.stdout).toContain("paused");
  });

  it("usage errors exit 2 and send nothing", async () => {
    stub.reset();
    for (const argv of [
      ["promote"],
      ["promote", "cal_v2", "--steps", "10,fifty,100"],
      ["promote", "cal_v2", "--straight", "--steps", "100"],
      ["promote", "cal_v2", "--pause", "--rollback"],
      ["promote", "cal_v2", "--on-regression", "panic"],
      ["promote", "cal_v2", "--min-queries", "0"],
      ["promote", "cal_v2", "--min-queries", "199"],
      ["promote", "cal_v2", "--min-queries", "10000001"],
      ["promote", "cal_v2", "--max-step-hours", "0"],
      ["promote", "cal_v2", "--max-step-hours", "721"],
      ["promote", "cal_v2", "--max-step-hours", "soon"],
      ["promote", "cal_v2", "--max-step-hours", "4.8e1"],
    ]) {
      const r = await cli(argv, env());
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^scoregate: /u);
    }
    expect(stub.last().request).toBeNull();
    // the range is the contract's (MIN_PROMOTION_QUERIES to MAX_PROMOTION_QUERIES), said in the CLI's words
    const hours = await cli(["promote", "cal_v2", "--max-step-hours", "4.8e1"], env());
    expect(hours.stderr.split("\n")[0]).toBe(
      'scoregate: --max-step-hours "4.8e1" is not valid: it must be hours above 0 and at most 720, written as a plain decimal number (e.g. 30 or 0.5)',
    );
    // --steps is checked as the server checks a plan, naming the value at fault, once
    for (const [steps, why] of [
      ["10,50,150", "150 is above 100"],
      ["0,50,100", "0 is below 1"],
      ["50,10,100", "10 does not rise above 50: the steps must increase"],
      ["10,50,50,100", "50 does not rise above 50: the steps must increase"],
      ["10,50", "it ends at 50: the last step must be 100 (everyone)"],
      ["10,,100", "an empty step is not a whole percentage; give whole percentages separated by commas"],
      ["10,fifty,100", '"fifty" is not a whole percentage; give whole percentages separated by commas'],
      ["1,2,3,4,5,6,7,8,9,10,100", "11 steps, at most 10"],
    ]) {
      const r = await cli(["promote", "cal_v2", "--steps", steps!], env());
      expect(r.code, steps).toBe(2);
      const lines = r.stderr.split("\n");
      expect(lines[0]).toBe(`scoregate: --steps ${JSON.stringify(steps)} is not valid: ${why}`);
      expect(lines[1]).toBe("  e.g. --steps 10,50,100 (or --straight: --steps 100)");
      expect(r.stderr.match(/not valid/gu)).toHaveLength(1);
    }
    expect(stub.last().request).toBeNull();
    // the usage line names every plan flag the README's commands pass
    const bare = await cli(["promote"], env());
    expect(bare.stderr.split("\n")[0]).toBe(
      "scoregate: promote takes one calibration id: scoregate promote cal_... [--steps 10,50,100] [--min-queries N] [--tolerance T] [--on-regression pause|rollback] [--max-step-hours N]",
    );
    const few = await cli(["promote", "cal_v2", "--min-queries", "50"], env());
    expect(few.stderr.split("\n")[0]).toBe(
      'scoregate: --min-queries "50" is not valid: it must be a whole number of queries from 200 to 10,000,000 (default 2,000)',
    );
  });

  it("a server refusal (409: the gate has an open promotion) exits 2 with the server's message", async () => {
    stub.handle(() => ({ status: 409, body: { error: { code: "conflict", message: "the gate already has an open promotion" } } }));
    const r = await cli(["promote", "cal_v2"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the gate already has an open promotion");
  });

  /** The 409 of a start on a gate with an open promotion, as src/promotions/service.ts words it. */
  const openConflict = (candidate: string, state = "running") => ({
    status: 409,
    body: {
      error: {
        code: "conflict",
        message: `the gate already has an open promotion (prm_01a24b55b15fc483c7a304996a3f, ${state}, of ${candidate}): roll back or finish it first (a paused promotion is still open)`,
        details: { promotion_id: "prm_01a24b55b15fc483c7a304996a3f" },
      },
    },
  });

  it("a rerun whose first run started the promotion (the open one promotes the same calibration): the 409 names it, how to wait for it or end it, and the key", async () => {
    stub.handle(() => openConflict("cal_v2"));
    const r = await cli(["promote", "cal_v2"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "an earlier run's promotion of cal_v2? scoregate promotion prm_01a24b55b15fc483c7a304996a3f --wait SECONDS waits for its outcome, scoregate promote prm_01a24b55b15fc483c7a304996a3f --rollback ends it; a rerun of the same step passes the first run's --idempotency-key to get its answer",
    );
  });

  it("an open promotion of another calibration: the 409 names it and how to see or end it, never an earlier run's key", async () => {
    stub.handle(() => openConflict("cal_01a24b543eef"));
    const r = await cli(["promote", "cal_v2"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "the open promotion prm_01a24b55b15fc483c7a304996a3f promotes cal_01a24b543eef, not cal_v2: a gate runs one promotion at a time; scoregate promotion prm_01a24b55b15fc483c7a304996a3f prints it, scoregate promotion prm_01a24b55b15fc483c7a304996a3f --wait SECONDS waits for its outcome, scoregate promote prm_01a24b55b15fc483c7a304996a3f --rollback ends it; then start this one again",
    );
    expect(r.stderr).not.toContain("earlier run");
    expect(r.stderr).not.toContain("--idempotency-key");
    // a paused one is resumed or rolled back (a wait would only read it paused)
    stub.handle(() => openConflict("cal_01a24b543eef", "paused"));
    const paused = await cli(["promote", "cal_v2"], env());
    expect(paused.stderr).toContain(
      "scoregate promote prm_01a24b55b15fc483c7a304996a3f --resume continues it, scoregate promote prm_01a24b55b15fc483c7a304996a3f --rollback ends it; then start this one again",
    );
    // a message without its candidate (the promotion named in details alone): read it to see which calibration it promotes
    stub.handle(() => ({
      status: 409,
      body: { error: { code: "conflict", message: "the gate already has an open promotion", details: { promotion_id: "prm_7" } } },
    }));
    const bare = await cli(["promote", "cal_v2"], env());
    expect(bare.stderr).toContain(
      "scoregate promotion prm_7 prints the open promotion and the calibration it promotes: if it is an earlier run's start of this one, a rerun passes the first run's --idempotency-key to get its answer",
    );
    // none named (it ended before the server could read it): run it again
    stub.handle(() => ({
      status: 409,
      body: {
        error: {
          code: "conflict",
          message: "the gate already has an open promotion: roll back or finish it first (a paused promotion is still open)",
        },
      },
    }));
    const gone = await cli(["promote", "cal_v2"], env());
    expect(gone.stderr).toContain("it may have ended since the start was refused: run the command again");
  });

  it("a 409 of the promotion's state says what to do: already paused, already running, already served", async () => {
    const refuse = (message: string) => stub.handle(() => ({ status: 409, body: { error: { code: "conflict", message } } }));
    refuse("promotion prm_7 is paused: it cannot pause");
    const paused = await cli(["promote", "prm_7", "--pause"], env());
    expect(paused.code).toBe(2);
    expect(paused.stderr).toContain("it is already paused: scoregate promote prm_7 --resume continues it, --rollback ends it");
    expect(paused.stderr).not.toContain("because of the current state");
    refuse("promotion prm_7 is running: it cannot resume");
    const running = await cli(["promote", "prm_7", "--resume"], env());
    expect(running.stderr).toContain(
      "it is already running: nothing to resume (scoregate promote prm_7 --pause pauses it, scoregate promotion prm_7 prints it)",
    );
    refuse("promotion prm_7 is rolled_back: it cannot advance");
    const ended = await cli(["promote", "prm_7", "--advance"], env());
    expect(ended.stderr).toContain("it has ended (rolled back): nothing to advance; scoregate promotion prm_7 prints how it ended");
    refuse("calibration cal_v1 is already the gate's current calibration");
    const served = await cli(["promote", "cal_v1"], env());
    expect(served.code).toBe(2);
    expect(served.stderr).toContain("it is already served to everyone: nothing to promote");
    expect(served.stderr).not.toContain("because of the current state");
    refuse("the gate serves no calibration yet: activate one before promoting another against it");
    expect((await cli(["promote", "cal_v1"], env())).stderr).toContain("serve a calibration first (scoregate activate ID)");
  });

  it("a refusal whose hint names the gate names it by the calibration's own flags when the calibration can be read", async () => {
    stub.handle((req) =>
      req.method === "GET" && req.url === "/v1/calibrations/cal_v1"
        ? {
            status: 200,
            body: { id: "cal_v1", gate_id: "g1", index: "docs", embedding: "e5", reranker: "bge", index_version: "v1", active: true, current: true },
          }
        : { status: 409, body: { error: { code: "conflict", message: "calibration cal_v1 is already the gate's current calibration" } } },
    );
    const served = await cli(["promote", "cal_v1"], env());
    expect(served.code).toBe(2);
    expect(served.stderr).toContain(
      "it is already served to everyone: nothing to promote (scoregate threshold --index docs --embedding e5 --reranker bge shows what the gate serves)",
    );
    expect(served.stderr).not.toContain("--index I");
  });
});

describe("scoregate promotion", () => {
  it("reads a promotion by id and prints it; --json prints the server's promotion", async () => {
    const completed = promotion({ state: "completed", step: 2, percent: 100 });
    stub.handle(() => ({ status: 200, body: completed }));
    const r = await cli(["promotion", "prm_0000000001"], { ...env(), SCOREGATE_TOKEN: "read-token" });
    expect(r.code).toBe(0);
    expect(stub.last().request!.method).toBe("GET");
    expect(stub.last().request!.url).toBe("/v1/promotions/prm_0000000001");
    expect(r.stdout).toMatch(/^Promotion prm_0000000001: cal_v2 over cal_v1, completed, step 3 of 3 \(the candidate served to everyone\)$/mu);
    const j = await cli(["promotion", "prm_0000000001", "--json"], env());
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual(completed);
  });

  it("--wait reads it every 15 s until it ends: exit 0 completed, 3 rolled back or paused, 4 still running; each step it moves to on stderr", async () => {
    // the waits are the test's (instant): a --wait of N s is N / 15 reads after the first
    const answers = (list: Promotion[]) => {
      let n = 0;
      stub.handle((req) => {
        expect(req.method).toBe("GET");
        return { status: 200, body: list[Math.min(n++, list.length - 1)] };
      });
      return () => n;
    };
    const running = promotion();
    const second = promotion({ step: 1, percent: 50 });
    const completed = promotion({ state: "completed", step: 2, percent: 100 });
    let reads = answers([running, running, second, completed]);
    const done = await cli(["promotion", "prm_0000000001", "--wait", "3600"], env());
    expect(done.code).toBe(0);
    expect(reads()).toBe(4);
    expect(done.stderr).toBe("promotion prm_0000000001: step 2 of 3, 50 % of keyed traffic\n");
    expect(done.stdout).toMatch(/^Promotion prm_0000000001: cal_v2 over cal_v1, completed, step 3 of 3/u);

    for (const [state, words] of [
      ["rolled_back", "rolled back"],
      ["paused", "paused"],
      ["superseded", "superseded"],
    ] as const) {
      answers([running, promotion({ state, percent: state === "paused" ? 10 : 0 })]);
      const stopped = await cli(["promotion", "prm_0000000001", "--wait", "60", "--json"], env());
      expect(stopped.code, state).toBe(3);
      expect(JSON.parse(stopped.stdout).state).toBe(state);
      expect(stopped.stderr).toContain(`promotion prm_0000000001 did not complete: it is ${words}`);
    }

    reads = answers([running]);
    const undecided = await cli(["promotion", "prm_0000000001", "--wait", "30"], env());
    expect(undecided.code).toBe(4);
    expect(reads()).toBe(3); // the first read, then one after each 15 s of the 30
    expect(undecided.stderr).toContain("promotion prm_0000000001 is still running after 30 s: nothing is decided yet");
    // without --wait: printed as it stands, exit 0, one read
    reads = answers([running]);
    expect((await cli(["promotion", "prm_0000000001"], env())).code).toBe(0);
    expect(reads()).toBe(1);
  });

  it("--wait rides out reads that fail for the server or the network, said once; it fails only if its last read failed", async () => {
    let n = 0;
    const script = (list: ("down" | Promotion)[]) => {
      n = 0;
      stub.handle(() => {
        const a = list[Math.min(n++, list.length - 1)]!;
        return a === "down" ? { status: 503, body: { error: { code: "storage_unavailable", message: "D1 is down" } } } : { status: 200, body: a };
      });
    };
    script([promotion(), "down", "down", promotion({ state: "completed", step: 2, percent: 100 })]);
    const through = await cli(["promotion", "prm_0000000001", "--wait", "3600"], env());
    expect(through.code).toBe(0);
    expect(n).toBe(4);
    expect(through.stderr.match(/reading it failed/gu)).toHaveLength(1);
    script([promotion(), "down"]);
    const down = await cli(["promotion", "prm_0000000001", "--wait", "30"], env());
    expect(down.code).toBe(1);
    expect(n).toBe(3);
  });

  it("--wait retries its first read too (a pipeline's 'wait again' while the server is down or restarting)", async () => {
    let n = 0;
    const script = (list: ("down" | Promotion)[]) => {
      n = 0;
      stub.handle(() => {
        const a = list[Math.min(n++, list.length - 1)]!;
        return a === "down" ? { status: 503, body: { error: { code: "storage_unavailable", message: "D1 is down" } } } : { status: 200, body: a };
      });
    };
    // the first two reads fail, the third answers: the wait goes on to the outcome, the failure said once
    script(["down", "down", promotion(), promotion({ state: "completed", step: 2, percent: 100 })]);
    const through = await cli(["promotion", "prm_0000000001", "--wait", "3600"], env());
    expect(through.code).toBe(0);
    expect(n).toBe(4);
    expect(through.stderr).toBe("promotion prm_0000000001: reading it failed (503 storage_unavailable: D1 is down); trying again every 15 s\n");
    expect(through.stdout).toMatch(/^Promotion prm_0000000001: cal_v2 over cal_v1, completed/u);
    // every read of the wait fails: exit 1 only after its last read (the first, then one after each 15 s of the 30)
    script(["down"]);
    const down = await cli(["promotion", "prm_0000000001", "--wait", "30"], env());
    expect(down.code).toBe(1);
    expect(n).toBe(3);
    expect(down.stderr.match(/reading it failed/gu)).toHaveLength(1);
    expect(down.stderr).toContain("scoregate promotion prm_0000000001 --wait SECONDS waits again");
    expect(down.stderr).toContain("scoregate: 503 storage_unavailable: D1 is down");
    expect(down.stdout).toBe("");
    // without --wait a failed read is the answer at once
    script(["down"]);
    expect((await cli(["promotion", "prm_0000000001"], env())).code).toBe(1);
    expect(n).toBe(1);
    // a calibration id: finding its promotion is part of the first read, retried the same way
    const seen: string[] = [];
    let calibrationReads = 0;
    stub.handle((req) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === "/v1/calibrations/cal_v2")
        return ++calibrationReads === 1
          ? { status: 503, body: { error: { code: "storage_unavailable", message: "D1 is down" } } }
          : { status: 200, body: { id: "cal_v2", gate_id: "g1" } };
      if (req.url?.startsWith("/v1/gates/g1/promotions"))
        return { status: 200, body: { gate_id: "g1", promotions: [promotion()], next_cursor: null } };
      return { status: 200, body: promotion({ state: "completed", step: 2, percent: 100 }) };
    });
    const byCalibration = await cli(["promotion", "cal_v2", "--wait", "60"], env());
    expect(byCalibration.code).toBe(0);
    expect(byCalibration.stderr).toBe("the promotion of cal_v2: reading it failed (503 storage_unavailable: D1 is down); trying again every 15 s\n");
    expect(seen).toEqual([
      "GET /v1/calibrations/cal_v2",
      "GET /v1/calibrations/cal_v2",
      `GET /v1/gates/g1/promotions?limit=200`,
      "GET /v1/promotions/prm_0000000001",
    ]);
    // a refusal of the caller's input is not waited out: an unknown promotion exits 2 at once, with no wait words
    n = 0;
    stub.handle(() => {
      n++;
      return { status: 404, body: { error: { code: "not_found", message: "promotion prm_nope does not exist" } } };
    });
    const unknown = await cli(["promotion", "prm_nope", "--wait", "60"], env());
    expect(unknown.code).toBe(2);
    expect(n).toBe(1);
    expect(unknown.stderr).not.toContain("wait");
  });

  it("--wait whose first read never reaches the server (nothing listening) retries it, then exits 1", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const slept: number[] = [];
    let stderr = "";
    const io: Io = {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      env: { SCOREGATE_URL: url, SCOREGATE_TOKEN: "stub-token" },
      sleep: async (ms: number) => {
        slept.push(ms);
      },
    };
    expect(await run(["promotion", "prm_0000000001", "--wait", "40"], io)).toBe(1);
    // the first read at once, then one after each wait: 15 s, 15 s, and the 10 s left
    expect(slept).toEqual([15000, 15000, 10000]);
    const lines = stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^promotion prm_0000000001: reading it failed \(could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\); trying again every 15 s$/u,
    );
    expect(lines[1]).toBe(
      "promotion prm_0000000001: the wait for it failed (no read answered): scoregate promotion prm_0000000001 --wait SECONDS waits again",
    );
    expect(lines[2]).toMatch(/^scoregate: could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/u);
  });

  it("--wait takes seconds from 1 to a week; promote --wait waits for the promotion it started", async () => {
    for (const bad of ["0", "abc", "1e3", String(7 * 24 * 3600 + 1)]) {
      stub.reset();
      const r = await cli(["promotion", "prm_0000000001", "--wait", bad], env());
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`--wait ${JSON.stringify(bad)} is not valid: it must be seconds from 1 to 604,800 (a week)`);
      expect(stub.last().request).toBeNull();
    }
    let n = 0;
    stub.handle((req) => {
      n++;
      if (req.method === "POST") return { status: 201, body: promotion() };
      return { status: 200, body: promotion({ state: "rolled_back", percent: 0 }) };
    });
    const r = await cli(["promote", "cal_v2", "--steps", "10,50,100", "--wait", "60"], env());
    expect(r.code).toBe(3);
    expect(n).toBe(2);
    expect(r.stdout).toMatch(/rolled_back/u);
    // --pause and --rollback stop the promotion: waiting for its outcome is a usage error, nothing is sent
    for (const override of ["--pause", "--rollback"]) {
      stub.reset();
      const refused = await cli(["promote", "prm_0000000001", override, "--wait", "60"], env());
      expect(refused.code, override).toBe(2);
      expect(refused.stderr).toContain(`--wait waits for a running promotion's outcome: ${override} stops it`);
      expect(stub.last().request).toBeNull();
    }
    // a start whose wait fails says the promotion goes on, and how to wait for it again
    stub.handle((req) =>
      req.method === "POST" ? { status: 201, body: promotion() } : { status: 500, body: { error: { code: "internal", message: "boom" } } },
    );
    const failed = await cli(["promote", "cal_v2", "--wait", "15"], env());
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      "promotion prm_0000000001 goes on (the wait for it failed): scoregate promotion prm_0000000001 --wait SECONDS waits again",
    );
  });

  it("prints each transition's numbers under it: arms, drop rates, the decisions with their intervals in points", async () => {
    const shifted = decision("shifted", 0.37);
    const rolledBack = promotion({
      state: "rolled_back",
      percent: 0,
      steps: [
        { ...promotion().steps[0]!, numbers: { plan: promotion().plan } },
        {
          id: "s2",
          kind: "rolled_back",
          cause: "shifted_vs_control",
          step: 0,
          percent: 0,
          seq: 15,
          at: "2026-01-01T01:00:00.000Z",
          actor: "promotion",
          reason: null,
          numbers: {
            vs_control: shifted,
            vs_target: decision("equivalent"),
            candidate_queries: 640,
            control_queries: 2100,
            candidate_drop_rate: 0.592,
            control_drop_rate: 0.2213,
            drift_alarm: null,
          },
        },
        {
          ...promotion().steps[0]!,
          kind: "paused",
          cause: "inconclusive_timeout",
          numbers: {
            candidate_queries: 100,
            control_queries: 900,
            candidate_drop_rate: null,
            control_drop_rate: 0.2,
            vs_control: { decision: "inconclusive" }, // not the contract's shape: left out, the rest still shown
            max_step_hours: 72,
          },
        },
        { ...promotion().steps[0]!, kind: "superseded", cause: "activation", numbers: { activated: "cal_v3" } },
      ],
    });
    stub.handle(() => ({ status: 200, body: rolledBack }));
    const r = await cli(["promotion", "prm_0000000001"], env());
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[1]).toContain("tolerance 2.0 points");
    // the start records only the plan (on the plan line): no numbers line under it
    expect(lines[2]).toMatch(/started +10 % +admin by alice$/u);
    expect(lines[3]).toMatch(/rolled_back +0 % +shifted_vs_control by promotion$/u);
    expect(lines[4]).toBe(
      "      candidate 640 queries (drop 59.2 %), control 2,100 (drop 22.1 %); vs control shifted +37.0 points (95 %: +36.0 to +38.0 points), vs target equivalent +0.3 points (95 %: -0.7 to +1.3 points)",
    );
    expect(lines[6]).toBe("      candidate 100 queries (drop -), control 900 (drop 20.0 %); no decision within 72 h");
    expect(lines[8]).toBe("      cal_v3 was activated");
    expect(lines).toHaveLength(9);
    const j = await cli(["promotion", "prm_0000000001", "--json"], env());
    expect(JSON.parse(j.stdout)).toEqual(rolledBack);
  });

  it("by calibration id: that calibration's newest promotion, following the gate's pages to find it", async () => {
    const seen: string[] = [];
    stub.handle((req) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === "/v1/calibrations/cal_v2") return { status: 200, body: { id: "cal_v2", gate_id: "g1" } };
      if (req.url === "/v1/gates/g1/promotions?limit=200")
        return {
          status: 200,
          body: { gate_id: "g1", promotions: [promotion({ id: "prm_other", candidate_calibration_id: "cal_v3" })], next_cursor: "c2" },
        };
      if (req.url === "/v1/gates/g1/promotions?limit=200&cursor=c2")
        return {
          status: 200,
          body: {
            gate_id: "g1",
            promotions: [promotion({ id: "prm_new", state: "rolled_back" }), promotion({ id: "prm_old", state: "completed" })],
            next_cursor: null,
          },
        };
      return { status: 200, body: promotion({ id: "prm_new", state: "rolled_back", percent: 0 }) };
    });
    const r = await cli(["promotion", "cal_v2"], env());
    expect(r.code).toBe(0);
    expect(seen.at(-1)).toBe("GET /v1/promotions/prm_new");
    expect(r.stdout).toContain("Promotion prm_new: cal_v2 over cal_v1, rolled_back");
  });

  it("exit 2 for a calibration never promoted, an unknown promotion (the server's 404) or no id; an override of a closed promotion is refused", async () => {
    stub.handle((req) => {
      if (req.url === "/v1/calibrations/cal_v2") return { status: 200, body: { id: "cal_v2", gate_id: "g1" } };
      if (req.url?.startsWith("/v1/gates/g1/promotions"))
        return { status: 200, body: { gate_id: "g1", promotions: [promotion({ id: "prm_done", state: "completed" })], next_cursor: null } };
      if (req.url?.startsWith("/v1/gates/g2/promotions")) return { status: 200, body: { gate_id: "g2", promotions: [], next_cursor: null } };
      if (req.url === "/v1/calibrations/cal_new") return { status: 200, body: { id: "cal_new", gate_id: "g2" } };
      return { status: 404, body: { error: { code: "not_found", message: "promotion prm_missing does not exist" } } };
    });
    const never = await cli(["promotion", "cal_new"], env());
    expect([never.code, never.stderr]).toEqual([2, expect.stringContaining("cal_new has never been promoted")]);
    const missing = await cli(["promotion", "prm_missing"], env());
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining("promotion prm_missing does not exist")]);
    // the gates' listing names no promotion: the hint says where promotions are found
    expect(missing.stderr).toContain(
      "no promotion has that id: scoregate promotion cal_... finds one by the calibration it promotes, and scoregate threshold --index I --embedding E --reranker R shows a gate's open promotion",
    );
    expect(missing.stderr).not.toContain("check the ids");
    const closed = await cli(["promote", "cal_v2", "--pause"], env());
    expect([closed.code, closed.stderr]).toEqual([2, expect.stringContaining("its latest, prm_done, is completed")]);
    expect(stub.last().request!.method).toBe("GET");
    stub.reset();
    expect((await cli(["promotion"], env())).code).toBe(2);
    expect((await cli(["promotion", "prm_a", "prm_b"], env())).code).toBe(2);
    expect(stub.last().request).toBeNull();
  });
});

describe("scoregate shadow", () => {
  /** The Worker's shadow routes in small: POST adds (409 when it is a shadow already), PATCH changes the rate (409 when not). */
  function serve(status: ShadowStatus, listedBefore: boolean) {
    let listed: ShadowStatus | null = listedBefore ? status : null;
    const seen: string[] = [];
    const conflict = (message: string) => ({ status: 409, body: { error: { code: "conflict", message } } });
    stub.handle((req, body) => {
      seen.push(`${req.method} ${req.url} ${body}`);
      if (req.url === "/v1/calibrations/cal_v2") return { status: 200, body: { id: "cal_v2", gate_id: "g1" } };
      if (req.url === "/v1/calibrations/cal_v2/shadow") {
        if (req.method === "POST") {
          if (listed) return conflict("calibration cal_v2 is already a shadow of its gate");
          listed = status;
        } else if (req.method === "PATCH") {
          if (!listed) return conflict("calibration cal_v2 is not a shadow of its gate");
          listed = { ...listed, sample_rate: (JSON.parse(body) as { sample_rate: number }).sample_rate };
        }
        return { status: 200, body: { gate_id: "g1", calibration_id: "cal_v2", seq: 11, shadows: [] } };
      }
      return { status: 200, body: { gate_id: "g1", active_calibration_id: "cal_v1", shadows: listed ? [listed] : [] } };
    });
    return seen;
  }

  it("adds the shadow when it is not one yet, prints the live decision; exit 4 until decided", async () => {
    const seen = serve(shadowStatus(decision("inconclusive")), false);
    const r = await cli(["shadow", "cal_v2", "--sample-rate", "0.2"], env());
    expect(seen.filter((s) => s.startsWith("POST"))).toEqual(['POST /v1/calibrations/cal_v2/shadow {"sample_rate":0.2}']);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("Shadow cal_v2 (index version v2), 20.0 % of queries mirrored");
    // the change and its interval in points, and the tolerance in points too (the contract's 0.02 is 2 points)
    expect(r.stdout).toMatch(/vs active\s+inconclusive \+0\.3 points \(95 %: -0\.7 to \+1\.3 points\), tolerance 2\.0 points, 640 queries/u);
    expect(r.stdout).not.toMatch(/tolerance [\d.]+ %/u);
    expect(r.stdout).toContain("about 960 more queries to decide");
  });

  it("before an interval (fewer than 50 queries a side) it says so instead of a count of more queries", async () => {
    serve(shadowStatus({ ...decision("inconclusive"), queries: 29, interval95: null as never, more_data_factor: null }), true);
    const r = await cli(["shadow", "cal_v2"], env());
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("29 queries; too few queries for an interval yet (at least 50 on each side)");
  });

  it("vs active with an empty active side (no queries since the shadow's first batch) says so, not too few queries", async () => {
    const empty = { ...decision("inconclusive"), queries: 5000, reference_queries: null as never, interval95: null as never, more_data_factor: null };
    serve(shadowStatus(empty), true);
    const r = await cli(["shadow", "cal_v2"], env());
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("5,000 queries; the active gate has no queries since the shadow's first batch: its side of the comparison is empty");
    expect(r.stdout).not.toContain("too few queries");
    serve(shadowStatus({ ...empty, reference_queries: 0 }), true);
    expect((await cli(["shadow", "cal_v2"], env())).stdout).toContain("the active gate has no queries since the shadow's first batch");
    serve(shadowStatus({ ...empty, reference_queries: 12 }), true);
    expect((await cli(["shadow", "cal_v2"], env())).stdout).toContain(
      "5,000 queries; the active gate has 12 queries since the shadow's first batch, too few for an interval yet (at least 50 on each side)",
    );
  });

  it("an estimate on the tolerance's edge (a factor of 1e30) says no practical number of queries decides it, not a 33-digit count", async () => {
    serve(shadowStatus({ ...decision("inconclusive", 0.02), more_data_factor: 1.13e30 }), true);
    const r = await cli(["shadow", "cal_v2"], env());
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("the estimate sits on the tolerance's edge: no practical number of queries decides it");
    expect(r.stdout).not.toMatch(/\d{7}/u);
  });

  it("reads an existing shadow without adding it again: exit 0 equivalent, 3 shifted (vs active or vs target)", async () => {
    for (const [status, code] of [
      [shadowStatus(decision("equivalent")), 0],
      [shadowStatus(decision("shifted", 0.37)), 3],
      [shadowStatus(decision("equivalent"), decision("shifted", 0.3)), 3],
    ] as const) {
      const seen = serve(status, true);
      const r = await cli(["shadow", "cal_v2", "--json"], env());
      expect(r.code).toBe(code);
      expect(JSON.parse(r.stdout).vs_active.decision).toBe(status.vs_active.decision);
      // the decision its exit code stands for, as calibrate --json carries it, beside every field of the status
      expect(JSON.parse(r.stdout)).toEqual({ ...status, decision: code === 0 ? "equivalent" : "shifted", exit_code: code, added: false });
      expect(seen.some((s) => s.startsWith("POST"))).toBe(false);
    }
    serve(shadowStatus(decision("inconclusive")), false);
    const added = await cli(["shadow", "cal_v2", "--json"], env());
    expect(added.code).toBe(4);
    expect(JSON.parse(added.stdout)).toMatchObject({ decision: "inconclusive", exit_code: 4, added: true });
  });

  it("--sample-rate on an existing shadow changes its rate in place (PATCH; the same rate sends nothing)", async () => {
    const seen = serve(shadowStatus(decision("equivalent")), true);
    const r = await cli(["shadow", "cal_v2", "--sample-rate", "0.5", "--reason", "more evidence"], env());
    expect(r.code).toBe(0);
    expect(seen.filter((x) => !x.startsWith("GET"))).toEqual(['PATCH /v1/calibrations/cal_v2/shadow {"sample_rate":0.5,"reason":"more evidence"}']);
    expect(r.stdout).toContain("Shadow cal_v2 (index version v2), 50.0 % of queries mirrored");
    const same = serve(shadowStatus(decision("equivalent")), true);
    expect((await cli(["shadow", "cal_v2", "--sample-rate", "0.2"], env())).code).toBe(0);
    expect(same.filter((x) => !x.startsWith("GET"))).toEqual([]);
  });

  it("--remove deletes it; --remove with --sample-rate is a usage error", async () => {
    stub.handle(() => ({ status: 200, body: { gate_id: "g1", calibration_id: "cal_v2", seq: 14, shadows: [] } }));
    const r = await cli(["shadow", "cal_v2", "--remove"], env());
    expect(r.code).toBe(0);
    expect(stub.last().request!.method).toBe("DELETE");
    expect(r.stdout).toBe("cal_v2 is no longer a shadow; the gate has 0 shadow(s) left\n");
    expect((await cli(["shadow", "cal_v2", "--remove", "--sample-rate", "0.1"], env())).code).toBe(2);
    expect((await cli(["shadow", "cal_v2", "--sample-rate", "2"], env())).code).toBe(2);
  });

  it("--remove of a calibration that is not a shadow says what to do: the gate's shadows with its flags, or that it is served", async () => {
    const refusal = { status: 409, body: { error: { code: "conflict", message: "calibration cal_v2 is not a shadow of its gate" } } };
    const calibration = (over: object = {}) => ({
      status: 200,
      body: {
        id: "cal_v2",
        gate_id: "g1",
        index: "docs",
        embedding: "e5",
        reranker: "bge",
        index_version: "v2",
        active: false,
        current: false,
        ...over,
      },
    });
    const serve = (cal: StubAnswer) => {
      const seen: string[] = [];
      stub.handle((req) => {
        seen.push(`${req.method} ${req.url}`);
        return req.method === "DELETE" ? refusal : cal;
      });
      return seen;
    };
    // unserved, and not (or no longer: a rerun) among the gate's shadows
    const seen = serve(calibration());
    const r = await cli(["shadow", "cal_v2", "--remove"], env());
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")).toEqual([
      "scoregate: 409 conflict: calibration cal_v2 is not a shadow of its gate",
      "  nothing to remove (if an earlier run removed it, nothing is left to do): scoregate threshold --index docs --embedding e5 --reranker bge lists the gate's shadows, each with its sample rate",
      "",
    ]);
    // one removal (a 409 of the state is not sent again), then the calibration read for its gate
    expect(seen).toEqual(["DELETE /v1/calibrations/cal_v2/shadow", "GET /v1/calibrations/cal_v2"]);
    // served: nothing to remove, and where to see what the gate serves
    serve(calibration({ active: true, current: true }));
    expect((await cli(["shadow", "cal_v2", "--remove"], env())).stderr).toContain(
      "cal_v2 is served on its gate (its current calibration), not a shadow: nothing to remove; scoregate threshold --index docs --embedding e5 --reranker bge shows what the gate serves and its shadows",
    );
    // the calibration cannot be read: the same advice with placeholder flags
    serve({ status: 503, body: { error: { code: "storage_unavailable", message: "D1 is down" } } });
    const unread = await cli(["shadow", "cal_v2", "--remove"], env());
    expect(unread.code).toBe(2);
    expect(unread.stderr).toContain(
      "scoregate threshold --index I --embedding E --reranker R lists the gate's shadows, each with its sample rate (scoregate gates lists every gate's)",
    );
    expect(unread.stderr).not.toContain("because of the current state");
    // --json carries the server's refusal and the hint
    serve(calibration());
    const j = await cli(["shadow", "cal_v2", "--remove", "--json"], env());
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: "conflict", message: "calibration cal_v2 is not a shadow of its gate" });
    expect(JSON.parse(j.stdout).error.hints.at(-1)).toContain("lists the gate's shadows");
  });

  it("a calibration already served is said to be served, not relayed as a 409, and nothing is sent", async () => {
    const seen: string[] = [];
    stub.handle((req) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === "/v1/calibrations/cal_v2")
        return {
          status: 200,
          body: { id: "cal_v2", gate_id: "g1", index: "docs", embedding: "e5", reranker: "bge", index_version: "v2", active: true, current: true },
        };
      return { status: 200, body: { gate_id: "g1", active_calibration_id: "cal_v2", shadows: [] } };
    });
    const r = await cli(["shadow", "cal_v2"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cal_v2 is served on its gate (its current calibration), not a shadow");
    // the server says it is served, not how: an upload's activate "auto" serves one as well as a promotion
    expect(r.stderr).not.toContain("promoted");
    expect(r.stderr).toContain(
      "scoregate threshold --index docs --embedding e5 --reranker bge shows what the gate serves; a shadow is a calibration it does not serve (scoregate history --index docs --embedding e5 --reranker bge lists them)",
    );
    expect(seen.filter((s) => !s.startsWith("GET"))).toEqual([]);
  });

  it("adding without --sample-rate says the rate the server chose", async () => {
    serve(shadowStatus(decision("inconclusive")), false);
    const r = await cli(["shadow", "cal_v2"], env());
    expect(r.stderr).toContain("cal_v2 put in shadow on its gate at 20.0 % of queries (the server's default; --sample-rate R chooses)");
  });
});

describe("scoregate watch", () => {
  let sse: SseStub;
  afterAll(async () => {
    await sse?.close();
  });

  /** Runs watch until `stop` aborts it, with the output readable while it runs. */
  function watch(argv: string[], url: string) {
    const out = { stdout: "", stderr: "" };
    const interrupt = new AbortController();
    const io: Io = {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
      env: { SCOREGATE_URL: url, SCOREGATE_TOKEN: "read-token" },
      signal: interrupt.signal,
    };
    return { out, done: run(["watch", ...argv], io), stop: () => interrupt.abort() };
  }

  it("prints each pushed event once, says when it reconnected and where it resumed, exits 0 when interrupted", async () => {
    sse = await startSseStub((c, n) => {
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(5, 0), "snapshot") + frame(gateEvent(9, 5, "cal_0000000009", 0.5)));
        setTimeout(() => c.destroy(), 10);
      } else
        c.send(frame(gateEvent(9, 5, "cal_0000000009", 0.5)) + frame({ ...gateEvent(12, 9, "cal_0000000012", 0.61), kind: "promotion_completed" }));
    });
    const w = watch(["--embedding", "e5", "--reranker", "bge", "--index", "docs"], sse.url);
    await vi.waitFor(() => expect(w.out.stdout.split("\n").filter(Boolean)).toHaveLength(4), { timeout: 5000, interval: 5 });
    w.stop();
    expect(await w.done).toBe(0);
    expect(w.out.stdout).toBe(
      [
        "-- snapshot",
        "5 activation            cal_0000000005 threshold 0.42",
        "9 activation            cal_0000000009 threshold 0.5",
        "12 promotion_completed   cal_0000000012 threshold 0.61",
        "",
      ].join("\n"),
    );
    expect(w.out.stderr).toMatch(/-- connection lost \(.*\); reconnecting\n-- reconnected, resumed after 9\n/u);
    expect(sse.connections.map((c) => c.lastEventId)).toEqual([undefined, "9"]);
    expect(sse.connections[0]!.req.url).toBe("/v1/events?index=docs&embedding=e5&reranker=bge");
    await sse.close();
  });

  it("each kind says what it did: the shadow added (not the served calibration), a rollback's cause, the reason given", async () => {
    const served = gateEvent(30, 0, "cal_v1", 0.4);
    const { calibration_id: _c, index_version, threshold, expected_drop_rate, guards, abstain_below } = served.served!;
    const rollout: ServedRollout = {
      ...{ promotion_id: "prm_1", step: 0, percent_bp: 1000, salt: "prm_1", state: "running" },
      candidate: { calibration_id: "cal_bad", index_version, threshold, expected_drop_rate, guards, abstain_below },
    };
    sse = await startSseStub((c) => {
      c.open();
      c.send(
        frame({ ...served, seq: 31, prev_seq: 30, kind: "shadow_added", calibration_id: "cal_v2", details: { sample_rate: 0.2 } }) +
          frame({ ...served, seq: 32, prev_seq: 31, kind: "shadow_changed", calibration_id: "cal_v2", details: { sample_rate: 0.5 } }) +
          frame({
            ...served,
            seq: 33,
            prev_seq: 32,
            kind: "promotion_started",
            calibration_id: "cal_bad",
            served: { ...served.served!, rollout },
            promotion: { id: "prm_1", state: "running", step: 0, percent: 10 },
            details: { cause: "admin" },
          }) +
          frame({
            ...served,
            seq: 34,
            prev_seq: 33,
            kind: "promotion_rolled_back",
            actor: "promotion",
            calibration_id: "cal_bad",
            promotion: { id: "prm_1", state: "rolled_back", step: 0, percent: 0 },
            details: { cause: "shifted_vs_control", candidate_queries: 640 },
          }) +
          frame({ ...served, seq: 35, prev_seq: 34, kind: "shadow_removed", calibration_id: "cal_v2", reason: "done", details: null }),
      );
    });
    const w = watch(["--gate", "g1"], sse.url);
    await vi.waitFor(() => expect(w.out.stdout.split("\n").filter(Boolean)).toHaveLength(5), { timeout: 5000, interval: 5 });
    w.stop();
    expect(await w.done).toBe(0);
    expect(w.out.stdout.split("\n").filter(Boolean)).toEqual([
      "31 shadow_added          shadow cal_v2 added, 20.0 % of queries mirrored; serving cal_v1 threshold 0.4",
      "32 shadow_changed        shadow cal_v2 now mirrors 50.0 % of queries; serving cal_v1 threshold 0.4",
      "33 promotion_started     promotion prm_1: cal_bad on 10 % of keyed traffic (step 1); serving cal_v1 threshold 0.4 split 10 % to cal_bad (running)",
      "34 promotion_rolled_back promotion prm_1: cal_bad rolled back, cause shifted_vs_control; serving cal_v1 threshold 0.4",
      "35 shadow_removed        shadow cal_v2 removed; serving cal_v1 threshold 0.4  reason: done",
    ]);
    await sse.close();
  });

  it("--json prints NDJSON; --since resumes there; --gate names the gate by id", async () => {
    sse = await startSseStub((c) => {
      c.open();
      c.send(frame(gateEvent(21, 20)));
    });
    const w = watch(["--gate", "g1", "--since", "20", "--json"], sse.url);
    await vi.waitFor(() => expect(w.out.stdout).toContain("\n"), { timeout: 5000, interval: 5 });
    w.stop();
    expect(await w.done).toBe(0);
    expect(JSON.parse(w.out.stdout)).toMatchObject({ seq: 21, prev_seq: 20, kind: "activation" });
    expect(sse.connections[0]!.lastEventId).toBe("20");
    expect(sse.connections[0]!.req.url).toBe("/v1/gates/g1/events");
    await sse.close();
  });

  it("a refused token exits 2; an unknown gate exits 2; a missing gate flag is a usage error", async () => {
    sse = await startSseStub((c, n) => c.res.writeHead(n === 1 ? 401 : 404).end());
    expect(await watch(["--embedding", "e5", "--reranker", "bge"], sse.url).done).toBe(2);
    expect(await watch(["--embedding", "e5", "--reranker", "bge"], sse.url).done).toBe(2);
    expect(await watch(["--embedding", "e5"], sse.url).done).toBe(2);
    await sse.close();
  });

  it("an unknown gate is named in the server's words, once, not as a stream the server lacks", async () => {
    const message = "gate g1 does not exist: it is created by its first calibration upload";
    sse = await startSseStub((c) =>
      c.res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "not_found", message } })),
    );
    const w = watch(["--gate", "g1"], sse.url);
    expect(await w.done).toBe(2);
    expect(w.out.stderr).toContain(`cannot watch this gate: 404 not_found: ${message}`);
    expect(w.out.stderr).not.toContain("404 404");
    expect(w.out.stderr).not.toContain("polling instead");
    await sse.close();
  });

  it("a gate named by mistyped models: the gates it may mean, as the history's 404 names them", async () => {
    const json = (body: object) => JSON.stringify(body);
    sse = await startSseStub((c) => {
      const history = c.req.url?.startsWith("/v1/calibrations") === true;
      c.res.writeHead(404, { "content-type": "application/json" }).end(
        history
          ? json({
              error: {
                code: "not_found",
                message:
                  "no gate docs / e5-typo / bge: a gate is created by its first calibration upload; did you mean index=docs embedding=e5 reranker=bge?",
                details: { suggestions: [{ index: "docs", embedding: "e5", reranker: "bge" }] },
              },
            })
          : json({ error: { code: "not_found", message: "gate 0a1b does not exist: it is created by its first calibration upload" } }),
      );
    });
    const w = watch(["--embedding", "e5-typo", "--reranker", "bge", "--index", "docs"], sse.url);
    expect(await w.done).toBe(2);
    expect(w.out.stderr).toContain("no gate docs / e5-typo / bge");
    expect(w.out.stderr).toContain("--index docs --embedding e5 --reranker bge");
    expect(w.out.stderr).not.toContain("0a1b");
    await sse.close();
  });
});
