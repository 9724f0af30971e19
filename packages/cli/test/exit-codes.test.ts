/**
 * Exit codes and error messages against a stub server that answers with real responses of the local worker
 * (test/fixtures/responses.json, checked against the contract): every rebuild decision (the server's `decision`, and
 * the one derived from `alert` for servers without it), the server's 4xx, 429, 5xx, an unreachable server and a
 * timeout.
 */
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { API_VERSION, API_VERSION_HEADER, type ShiftReport } from "../../../src/contract";
import cliPackage from "../package.json";
import { UPLOAD_ATTEMPTS } from "../src/calibrate";
import { EXIT, legacyDecision, rebuildDecision } from "../src/decision";
import { notSentCause } from "../src/http";
import { run } from "../src/main";
import { type Created, responses } from "./support/responses";
import { cli } from "./support/run";
import { type StubAnswer, stubFixture } from "./support/stub-server";

const { stub, dir, env } = stubFixture("scoregate-cli-exit-", (d) =>
  writeFileSync(
    join(d, "scores.csv"),
    `query_id,score\n${Array.from({ length: 200 }, (_, i) => `q${i % 10},${(i * 0.1234567890123) % 1}`).join("\n")}\n`,
  ),
);
const scores = join(dir, "scores.csv");

const answer = (a: StubAnswer) => stub.handle(() => a);
const lastRequest = () => stub.last().request!;
const lastBody = () => stub.last().body;

/**
 * A real shift report as a server without the decision fields sends it (they came with API version 1's rebuild
 * decision): the recorded report minus `decision`, `change_interval_95` and `more_data_factor`, with `over` applied.
 */
function legacy(over: Partial<ShiftReport>): Created {
  const { activation_outcome: _o, ...body } = responses.shifted();
  const { decision: _d, change_interval_95: _ci, more_data_factor: _m, ...old } = body.shift!;
  const shift = { ...old, ...over } as ShiftReport;
  return { ...body, shift, calibration: { ...body.calibration, shift } } as Created;
}

const calibrate = (...extra: string[]) =>
  cli(["calibrate", scores, "--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--target", "0.2", ...extra], env());

/** The recorded equivalent answer as a server sends it when it stores the upload unserved for `reason`. */
function equivalentNotServed(reason: string, message?: string) {
  const body = responses.equivalent();
  const activation_outcome = { ...body.activation_outcome, activated: false, would_activate: false, reason, ...(message ? { message } : {}) };
  answer({ status: 201, body: { ...body, calibration: { ...body.calibration, active: false, current: false }, activation_outcome } as never });
  return body;
}

describe("rebuild decision and exit codes (stub server)", () => {
  it("exits 0 when there is nothing to compare with (shift null)", async () => {
    answer({ status: 201, body: responses.first() });
    const r = await calibrate();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Decision: no previous calibration -> exit 0");
  });

  it("sends NDJSON: the metadata line, then one query per line at full precision, with the bearer token", async () => {
    answer({ status: 201, body: responses.first() });
    await calibrate("--dry-run", "--idempotency-key", "rebuild-42");
    expect(lastRequest().headers["content-type"]).toBe("application/x-ndjson");
    expect(lastRequest().headers.authorization).toBe("Bearer stub-token");
    expect(lastRequest().headers["idempotency-key"]).toBe("rebuild-42");
    const lines = lastBody().trimEnd().split("\n");
    expect(JSON.parse(lines[0]!)).toEqual({
      embedding: "e5",
      reranker: "bge",
      index_version: "v2",
      policy: { kind: "drop_rate", target: 0.2 },
      dry_run: true,
    });
    expect(lines).toHaveLength(11);
    const sent = lines.slice(1).flatMap((l) => JSON.parse(l) as number[]);
    const expected = Array.from({ length: 200 }, (_, i) => (i * 0.1234567890123) % 1);
    expect(sent.sort()).toEqual(expected.sort());
  });

  it("--float32 sends little-endian float32 with the metadata as query parameters and equal-size queries", async () => {
    answer({ status: 201, body: responses.first() });
    const r = await calibrate("--float32", "--json");
    expect(r.code).toBe(0);
    expect(lastRequest().headers["content-type"]).toBe("application/octet-stream");
    const q = new URL(lastRequest().url!, stub.url).searchParams;
    expect(Object.fromEntries(q)).toEqual({
      embedding: "e5",
      reranker: "bge",
      index_version: "v2",
      kind: "drop_rate",
      target: "0.2",
      candidates_per_query: "20",
    });
    expect(Buffer.byteLength(lastBody(), "latin1")).toBeGreaterThan(0);
    expect(JSON.parse(r.stdout).upload.note).toContain("rounded to float32");
  });

  // The exit code says what is served: 0 exactly when the upload is served now (activate "auto": the first
  // calibration or an equivalent rebuild), else why not. A shifted upload that exits 3 is not being served.
  it.each([
    ["equivalent", [], 0, true],
    ["shifted", [], 3, false],
    ["inconclusive", [], 4, false],
    ["inconclusive", ["--strict"], 4, false],
    ["equivalent", ["--strict"], 0, true],
    ["shifted", ["--strict"], 3, false],
  ] as const)("the server's decision %s with flags %j exits %i (served: %s)", async (decision, flags, code, served) => {
    const body = responses[decision]();
    expect(body.shift!.decision).toBe(decision);
    expect(body.activation_outcome.activated).toBe(served);
    answer({ status: 201, body });
    const r = await calibrate(...flags);
    expect(r.code).toBe(code);
    expect(r.stdout).toContain(`-> exit ${code}`);
    expect(r.stdout).toContain(served ? "(served now)" : `(stored, not served: promote it with scoregate activate ${body.calibration.id})`);
    expect(r.stderr).toBe("");
  });

  it("a carry across a model change (a new gate, compared with its reference) that shifts is served: exit 0, worded as intended", async () => {
    // the recorded shifted answer, as the first calibration of a new gate carrying from another gate's calibration
    const body = responses.shifted();
    const shift = { ...body.shift!, compared_with: "carry_reference" as const, alert: false };
    const served = { ...body.activation_outcome, activated: true, would_activate: true, reason: "first_calibration" as const };
    answer({
      status: 201,
      body: { ...body, shift, calibration: { ...body.calibration, active: true, current: true, shift }, activation_outcome: served },
    });
    const r = await calibrate();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\nDecision: shifted as intended (a carry across a model change: first calibration of this gate, served) -> exit 0");
    expect(r.stdout).not.toContain("SHIFTED");
    // a dry run says it would be
    answer({
      status: 200,
      body: { ...body, shift, calibration: { ...body.calibration, shift }, activation_outcome: { ...served, dry_run: true, activated: false } },
    });
    expect((await calibrate("--dry-run")).stdout).toContain("first calibration of this gate, would be served) -> exit 0");
    // the same decision against the gate's served calibration is not served: SHIFTED, exit 3
    answer({ status: 201, body });
    const rebuild = await calibrate();
    expect(rebuild.code).toBe(3);
    expect(rebuild.stdout).toContain("Decision: SHIFTED: the previous threshold's drop rate moved beyond the tolerance -> exit 3");
  });

  it("an upload whose expected drop rate misses its target exits 5 and is not served", async () => {
    answer({ status: 201, body: responses.targetMissed() });
    const r = await calibrate("--json");
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({ exit_code: 5, activation_outcome: { activated: false, reason: "target_missed" } });
    const human = await calibrate();
    expect(human.stdout).toMatch(/\nDecision: .*; not served: the expected drop rate misses the target \(target_missed\) -> exit 5/u);
  });

  it("an equivalent rebuild whose own drop rate moved beyond the tolerance (drop_rate_changed) exits 3 and is not served", async () => {
    // the recorded equivalent answer, as a server that refuses it under activate "auto" sends it
    const body = equivalentNotServed("drop_rate_changed");
    const r = await calibrate();
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`(stored, not served: promote it with scoregate activate ${body.calibration.id})`);
    // the decision line says why it exits 3 although the rebuild decision is equivalent
    expect(r.stdout).toContain(
      "Decision: equivalent: the drop rate stayed within the tolerance; not served: the gate would drop a different share than the served calibration (drop_rate_changed) -> exit 3",
    );
  });

  it("an equivalent rebuild uploaded while the gate has an open promotion (promotion_open) exits 6 and is not served", async () => {
    const body = equivalentNotServed("promotion_open");
    const created = JSON.parse(JSON.stringify(responses.equivalent()));
    const notServed = {
      ...created,
      calibration: { ...created.calibration, active: false, current: false },
      activation_outcome: { ...created.activation_outcome, activated: false, would_activate: false, reason: "promotion_open" },
    };
    const promotions = {
      gate_id: body.calibration.gate_id,
      promotions: [{ id: "prm_0000000007", candidate_calibration_id: "cal_candidate", state: "paused" }],
      next_cursor: null,
    };
    stub.handle((req) =>
      req.url?.startsWith(`/v1/gates/${body.calibration.gate_id}/promotions`) ? { status: 200, body: promotions } : { status: 201, body: notServed },
    );
    const r = await calibrate();
    expect(r.code).toBe(6);
    // activating it would supersede the open promotion: the headline does not offer it as the way to serve it
    expect(r.stdout).toContain(
      `: ${body.calibration.id} (stored, not served while the gate's promotion is open: activating it would end the promotion)\n`,
    );
    expect(r.stdout).not.toContain("promote it with scoregate activate");
    expect(r.stdout).toContain(
      "Decision: equivalent: the drop rate stayed within the tolerance; not served: the gate has an open guarded promotion, which serving would end (promotion_open) -> exit 6",
    );
    expect(r.stdout).toContain(
      `Serving: stored, not served: the gate has an open guarded promotion, which serving this upload would end, so the gate keeps serving its current calibration (scoregate promotion cal_candidate prints it: let it finish or roll it back first). scoregate activate ${body.calibration.id} would serve it now and end the promotion\n`,
    );
    expect(r.stdout).not.toContain("GET /v1/gates");
    // the promotions cannot be read: the gate's threshold names the candidate
    equivalentNotServed("promotion_open");
    const unread = await calibrate();
    expect(unread.code).toBe(6);
    expect(unread.stdout).toContain(
      "(scoregate threshold --index default --embedding e5-eq --reranker bge-reranker-v2-m3 names its candidate, scoregate promotion CANDIDATE prints it: let it finish or roll it back first)",
    );
    expect(JSON.parse((await calibrate("--json")).stdout)).toMatchObject({ exit_code: 6, activation_outcome: { reason: "promotion_open" } });
  });

  it("a reason a newer server gives for not serving an upload is never exit 0", async () => {
    equivalentNotServed("a_newer_reason", "stored, not served: why");
    const r = await calibrate();
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("Serving: stored, not served: why");
  });

  it("--dry-run prints what would be served and exits as the real upload would (3: shifted, not served)", async () => {
    const body = responses.dryRun();
    answer({ status: 200, body });
    const r = await calibrate("--dry-run");
    expect(r.code).toBe(3);
    const c = body.calibration;
    expect(r.stdout.split("\n")[0]).toBe(
      `Dry run for ${c.index} / ${c.embedding} / ${c.reranker}, index version ${c.index_version}: nothing stored, would not be served`,
    );
    expect(r.stdout).toContain(
      "Serving: dry run, nothing stored; this upload would be stored but not served: the rebuild shifted the gate (the Shift lines above), so the gate keeps serving its current calibration\n",
    );
  });

  it("the Serving line speaks the CLI's words for every reason an upload is not served (the server's, for API callers, stay in --json)", async () => {
    const recorded = responses.shifted();
    const c = recorded.calibration;
    expect([recorded.shift!.compared_with, c.expected_drop_rate, recorded.shift!.tolerance]).toEqual(["gate_current", 0.22, 0.02]);
    // a served calibration that drops 30 % (the recorded one drops what the upload does)
    const served = { ...recorded.shift!, previous_expected_drop_rate: 0.3 };
    const base = { ...recorded, shift: served, calibration: { ...c, shift: served } };
    const cases = [
      ["shifted", "the rebuild shifted the gate (the Shift lines above), so the gate keeps serving its current calibration"],
      [
        "inconclusive",
        "the rebuild decision is inconclusive (too little data to show the drop rate stayed within the tolerance), so the gate keeps serving its current calibration",
      ],
      [
        "drop_rate_changed",
        // what the served calibration drops is the shift's previous expected drop rate (the server decides on it)
        "it would drop 22.0 % of candidates where the served calibration drops 30.0 % (8.0 points, beyond the 2.0-point tolerance), so the gate keeps serving its current calibration",
      ],
      [
        "target_missed",
        `its expected drop rate ${(100 * c.expected_drop_rate).toFixed(1)} % misses the target ${(100 * c.target_drop_rate).toFixed(1)} % by more than 1.0 points (too few or too tied scores for this target)`,
      ],
    ] as const;
    for (const [reason, cause] of cases) {
      const activation_outcome = { ...base.activation_outcome, activated: false, would_activate: false, reason };
      answer({ status: 201, body: { ...base, activation_outcome } });
      const r = await calibrate();
      const serving = r.stdout.split("\n").filter((l) => l.startsWith("Serving:"));
      expect([reason, serving]).toEqual([reason, [`Serving: stored, not served: ${cause}. scoregate activate ${c.id} serves it`]]);
      expect(r.stdout).not.toMatch(/POST \/v1|activate: true|activate is/u);
      const json = await calibrate("--json");
      expect(JSON.parse(json.stdout).activation_outcome.message).toBe(base.activation_outcome.message);
    }
    // compared with a carry reference, the answer does not say what the gate serves: the line says no number for it
    const changed = { ...base.activation_outcome, activated: false, would_activate: false, reason: "drop_rate_changed" as const };
    const carried = { ...served, compared_with: "carry_reference" as const };
    answer({ status: 201, body: { ...base, shift: carried, calibration: { ...c, shift: carried }, activation_outcome: changed } });
    expect((await calibrate()).stdout).toContain(
      `\nServing: stored, not served: it would drop ${(100 * c.expected_drop_rate).toFixed(1)} % of candidates, beyond the tolerance from what the served calibration drops, so the gate keeps serving its current calibration. scoregate activate ${c.id} serves it\n`,
    );
    const first = { ...base.activation_outcome, activated: true, would_activate: true, reason: "first_calibration" as const };
    answer({ status: 201, body: { ...base, activation_outcome: first } });
    expect((await calibrate()).stdout).toContain("\nServing: served: the gate served no calibration before\n");
  });

  it("a server without activation_outcome: inconclusive exits 0 with a warning, 4 with --strict", async () => {
    const { activation_outcome: _o, ...old } = responses.inconclusive();
    for (const [flags, code] of [
      [[], 0],
      [["--strict"], 4],
    ] as const) {
      answer({ status: 201, body: old as Created });
      const r = await calibrate(...flags);
      expect(r.code).toBe(code);
      if (code === 0) expect(r.stderr).toContain("inconclusive");
      else expect(r.stderr).toBe("");
    }
  });

  it.each([
    [true, 37, [], 3, "shifted"],
    [false, 1.5, [], 0, "equivalent"],
    [false, -2, [], 0, "equivalent"],
    [false, 3, [], 0, "inconclusive"],
    [false, 3, ["--strict"], 4, "inconclusive"],
  ] as const)("a server without `decision`: alert %s, change %d points, flags %j -> exit %i (%s)", async (alert, change, flags, code, decision) => {
    answer({ status: 201, body: legacy({ alert, change_points: change }) });
    const r = await calibrate(...flags, "--json");
    expect(r.code).toBe(code);
    const out = JSON.parse(r.stdout) as { decision: string; decision_source: string; exit_code: number; upload: { scores: number; queries: number } };
    expect(out).toMatchObject({ decision, decision_source: "legacy", exit_code: code, upload: { scores: 200, queries: 10 } });
  });

  it("a server without `decision` gets no interval in the summary, and the decision's source is named", async () => {
    answer({ status: 201, body: legacy({ alert: true, change_points: 37 }) });
    const r = await calibrate();
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("+37.0 points, tolerance 2.0 points");
    expect(r.stdout).not.toContain("(95 %: +");
    expect(r.stdout).toContain("the server sends no decision");
  });

  it("legacyDecision and rebuildDecision follow the contract", () => {
    expect(legacyDecision({ alert: true, change_points: 0, tolerance: 0.02 })).toBe("shifted");
    expect(legacyDecision({ alert: false, change_points: 2, tolerance: 0.02 })).toBe("equivalent");
    expect(legacyDecision({ alert: false, change_points: 2.01, tolerance: 0.02 })).toBe("inconclusive");
    expect(rebuildDecision(null)).toEqual({ decision: null, source: null });
    expect(rebuildDecision(responses.inconclusive().shift)).toEqual({ decision: "inconclusive", source: "server" });
  });
});

describe("errors say what to do (stub server)", () => {
  it("a 422 too_few_scores exits 2 with the numbers and the fix", async () => {
    answer({ status: 422, body: responses.tooFewScores() });
    const r = await calibrate();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("422 too_few_scores");
    expect(r.stderr).toContain("a target drop rate of 99.9 % needs at least 999 scores, the file has 100: lower --target");
  });

  it("a 422 with field problems lists them", async () => {
    answer({ status: 422, body: responses.invalidInput() });
    const r = await calibrate();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("policy.target: must be in [0, 1): a share, 0.2 for 20 %");
  });

  it("401 and 403 exit 2 and name the token to use", async () => {
    answer({ status: 401, body: { error: { code: "unauthorized", message: "missing or unknown bearer token" } } });
    const r = await calibrate();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("SCOREGATE_TOKEN");
    answer({ status: 403, body: { error: { code: "forbidden", message: "needs calibrate" } } });
    const f = await calibrate();
    expect(f.code).toBe(2);
    expect(f.stderr).toContain("calibrate needs a calibrate token");
    answer({ status: 403, body: { error: { code: "forbidden", message: "needs admin" } } });
    const a = await cli(["activate", "cal_1"], env());
    expect(a.stderr).toContain("activate needs an admin token (locally: dev-admin)");
  });

  /** An uncalibrated 404 as src/serving/threshold-reader.ts words it (its message and details.suggestions). */
  const uncalibrated = (embedding: string, tail: string, suggestions: Record<string, string>[]) => ({
    status: 404,
    body: {
      error: {
        code: "uncalibrated",
        message: `the gate default / ${embedding} / bge (index defaults to "default" when omitted) has no active calibration${tail}`,
        details: { gate_id: "g", index: "default", embedding, reranker: "bge", index_version: null, suggestions },
      },
    },
  });

  it("an uncalibrated 404's suggestions are printed as flags, and the human output never points at details", async () => {
    const near = [
      { index: "docs", embedding: "intfloat/e5-large-v2", reranker: "bge" },
      { index: "faq", embedding: "intfloat/e5-large-v2", reranker: "bge" },
    ];
    const cases = [
      // a mistyped model: gates with similar names
      [
        uncalibrated(
          "intfloat/e5-large-v3",
          "; did you mean index=docs embedding=intfloat/e5-large-v2 or index=faq embedding=intfloat/e5-large-v2? (see details.suggestions)",
          near,
        ),
        "calibrated gates with similar names",
      ],
      // only --index left out: the same models under another index
      [
        uncalibrated("intfloat/e5-large-v2", "; did you mean index=docs or index=faq? (see details.suggestions)", near),
        "calibrated gates with similar names",
      ],
      // a version that is not active: the gate's active versions
      [
        uncalibrated("intfloat/e5-large-v2", "; its active versions: did you mean index_version=v2? (see details.suggestions)", [
          { index: "default", embedding: "intfloat/e5-large-v2", reranker: "bge", index_version: "v2" },
        ]),
        "its active index versions",
      ],
    ] as const;
    for (const [refusal, heading] of cases) {
      answer(refusal);
      const r = await cli(["threshold", "--embedding", refusal.body.error.details.embedding, "--reranker", "bge"], env());
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain("details");
      const lines = r.stderr.split("\n");
      expect(lines[0]).toMatch(/^scoregate: 404 uncalibrated: the gate default \/ \S+ \/ bge .* has no active calibration$/u);
      expect(lines[1]).toBe(`  ${heading}, as flags:`);
      const flags = refusal.body.error.details.suggestions.map(
        (g) =>
          `    --index ${g.index} --embedding ${g.embedding} --reranker ${g.reranker}${"index_version" in g ? ` --index-version ${g.index_version}` : ""}`,
      );
      expect(lines.slice(2, 2 + flags.length)).toEqual(flags);
      // a version the gate does not serve: the gate exists, so the hint names its versions, not other gates
      expect(r.stderr).toContain(
        heading === "its active index versions"
          ? "that --index-version has no active calibration on this gate; its active versions: v2 (scoregate history lists every calibration)"
          : "scoregate gates lists them",
      );
      // --json keeps the server's message and details as sent
      const j = await cli(["threshold", "--embedding", "x", "--reranker", "bge", "--json"], env());
      expect(JSON.parse(j.stdout).error).toMatchObject({ message: refusal.body.error.message, details: refusal.body.error.details });
    }
    // the history of a gate never calibrated: a 404 not_found as src/calibrations/registry.ts words it
    answer({
      status: 404,
      body: {
        error: {
          code: "not_found",
          message:
            'no gate default / e5 / bge (index defaults to "default" when omitted): a gate is created by its first calibration upload; did you mean index=docs embedding=e5 reranker=bge?',
          details: { suggestions: [{ index: "docs", embedding: "e5", reranker: "bge" }] },
        },
      },
    });
    const history = await cli(["history", "--embedding", "e5", "--reranker", "bge"], env());
    expect(history.code).toBe(2);
    expect(history.stderr.split("\n").slice(0, 3)).toEqual([
      'scoregate: 404 not_found: no gate default / e5 / bge (index defaults to "default" when omitted): a gate is created by its first calibration upload',
      "  calibrated gates with similar names, as flags:",
      "    --index docs --embedding e5 --reranker bge",
    ]);
    expect(history.stderr).toContain("no such gate: check --index, --embedding and --reranker");
    // an unknown calibration id: the listing to find one names every gate flag
    answer({ status: 404, body: { error: { code: "not_found", message: "no calibration cal_nope" } } });
    const activate = await cli(["activate", "cal_nope"], env());
    expect(activate.code).toBe(2);
    expect(activate.stderr).toContain(
      "no calibration has that id: scoregate history --index I --embedding E --reranker R lists a gate's calibrations",
    );
    // a name a shell would split is quoted
    answer(uncalibrated("e5", "; did you mean index=my docs? (see details.suggestions)", [{ index: "my docs", embedding: "e5", reranker: "bge" }]));
    expect((await cli(["threshold", "--embedding", "e5", "--reranker", "bge"], env())).stderr).toContain('--index "my docs" --embedding e5');
  });

  /** A carry from "active" on a gate without one, as src/calibrations/carry.ts words its 422 (with `similar`), or as a server before suggestions did. */
  const noActiveReference = (similar: Record<string, string>[] | null) => {
    const advice =
      'To carry a threshold across an embedding or reranker change (a new gate), reference the old gate\'s calibration with {"calibration_id": "..."}, or pass the old scores inline with {"scores": [...]}';
    const didYouMean = similar?.length
      ? `; did you mean ${similar.map((g) => `index=${g.index} embedding=${g.embedding} reranker=${g.reranker}`).join(" or ")}?`
      : ".";
    return {
      status: 422,
      body: {
        error: {
          code: "unknown_reference",
          message:
            similar === null
              ? `reference "active": this gate has no active calibration yet. ${advice}`
              : `reference "active": the gate mien / e5 / bge has no active calibration yet${didYouMean} ${advice}`,
          details:
            similar === null
              ? [{ path: "policy.reference", message: "no active calibration for this gate" }]
              : { path: "policy.reference", message: "no active calibration for this gate", suggestions: similar },
        },
      },
    };
  };

  it("--carry on a mistyped gate: the calibrated gates of similar names as flags, and the CLI's way to name a reference, never JSON", async () => {
    const carry = () =>
      cli(["calibrate", scores, "--index", "mien", "--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--carry"], env());
    const refusal = noActiveReference([{ index: "mine", embedding: "e5", reranker: "bge" }]);
    answer(refusal);
    const r = await carry();
    expect(r.code).toBe(2);
    const lines = r.stderr.split("\n");
    expect(lines.slice(0, 3)).toEqual([
      'scoregate: 422 unknown_reference: reference "active": the gate mien / e5 / bge has no active calibration yet',
      "  calibrated gates with similar names, as flags:",
      "    --index mine --embedding e5 --reranker bge",
    ]);
    expect(r.stderr).toContain(
      "pass the old gate's calibration with --reference cal_...; or use --target (scoregate history --index I --embedding E --reranker R",
    );
    expect(r.stderr).not.toContain("{");
    expect(r.stderr).not.toContain("details");
    // --json keeps the server's message and details as sent
    const j = await cli(
      ["calibrate", scores, "--index", "mien", "--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--carry", "--json"],
      env(),
    );
    expect(JSON.parse(j.stdout).error).toMatchObject({ message: refusal.body.error.message, details: refusal.body.error.details });
    // nothing similar: no suggestion lines, the message still without the JSON advice
    answer(noActiveReference([]));
    const none = await carry();
    expect(none.stderr.split("\n")[0]).toBe(
      'scoregate: 422 unknown_reference: reference "active": the gate mien / e5 / bge has no active calibration yet',
    );
    expect(none.stderr).not.toContain("as flags");
    expect(none.stderr).not.toContain("{");
    // a server before suggestions: its field problem, and the same hint
    answer(noActiveReference(null));
    const old = await carry();
    expect(old.stderr.split("\n").slice(0, 2)).toEqual([
      'scoregate: 422 unknown_reference: reference "active": this gate has no active calibration yet',
      "  policy.reference: no active calibration for this gate",
    ]);
    expect(old.stderr).toContain("--reference cal_...");
    expect(old.stderr).not.toContain("{");
    // an unknown id is not the gate's fault
    answer({
      status: 422,
      body: {
        error: {
          code: "unknown_reference",
          message: "reference calibration cal_x does not exist",
          details: [{ path: "policy.reference.calibration_id", message: "unknown calibration" }],
        },
      },
    });
    const id = await cli(
      ["calibrate", scores, "--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--carry", "--reference", "cal_0123456789abcdef"],
      env(),
    );
    expect(id.code).toBe(2);
    expect(id.stderr).toContain("no calibration has that --reference id: scoregate history");
  });

  it("a 413 relays the server's limit once, and says what to do", async () => {
    answer({
      status: 413,
      body: {
        error: { code: "payload_too_large", message: "request body exceeds the limit of 24 MiB (25165824 bytes)", details: { max_bytes: 25165824 } },
      },
    });
    const r = await calibrate();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("413 payload_too_large: request body exceeds the limit of 24 MiB (25165824 bytes)");
    expect(r.stderr.match(/25,?165,?824/gu)).toHaveLength(1);
    expect(r.stderr).toContain("upload fewer scores in one calibration, or pass --float32");
  });

  it("every request says which CLI sent it: User-Agent scoregate-cli/<the package's version>", async () => {
    answer({ status: 200, body: { gates: [] } });
    expect((await cli(["gates"], env())).code).toBe(0);
    expect(lastRequest().headers["user-agent"]).toBe(`scoregate-cli/${cliPackage.version}`);
  });

  it("a refusal from a server of another API version names both versions", async () => {
    answer({ status: 404, headers: { [API_VERSION_HEADER]: "2" }, body: { error: { code: "not_found", message: "no such route" } } });
    const r = await cli(["gates"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the server speaks API version 2, this CLI (${cliPackage.version}) speaks version ${API_VERSION}`);
    answer({
      status: 404,
      headers: { [API_VERSION_HEADER]: API_VERSION },
      body: { error: { code: "not_found", message: "no such route" } },
    });
    expect((await cli(["gates"], env())).stderr).not.toContain("API version");
  });

  it("every run sends an Idempotency-Key of its own; --idempotency-key replaces it", async () => {
    answer({ status: 201, body: responses.first() });
    await calibrate();
    const first = lastRequest().headers["idempotency-key"];
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u);
    await calibrate();
    expect(lastRequest().headers["idempotency-key"]).not.toBe(first);
    await calibrate("--idempotency-key", "rebuild-7");
    expect(lastRequest().headers["idempotency-key"]).toBe("rebuild-7");
  });

  it.each([
    ["a 503", { status: 503, body: { error: { code: "storage_unavailable", message: "D1 did not answer" } } }],
    [
      "a 409 idempotency_in_progress (the first attempt still running)",
      { status: 409, body: { error: { code: "idempotency_in_progress", message: "in progress" } } },
    ],
    [
      "a 409 conflict (a concurrent activation won; an older server's key still running)",
      { status: 409, body: { error: { code: "conflict", message: "in progress" } } },
    ],
    ["no answer within --timeout", { status: 201, body: responses.first(), delayMs: 2000 }],
  ])("after %s the upload is sent again with the same key, and a replayed answer says so", async (_, failure) => {
    const keys: (string | undefined)[] = [];
    stub.handle((req) => {
      keys.push(req.headers["idempotency-key"] as string | undefined);
      return keys.length === 1 ? failure : { status: 201, headers: { "Idempotent-Replayed": "true" }, body: responses.first() };
    });
    const r = await calibrate("--timeout", "1", "--json");
    expect(r.code).toBe(0);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(JSON.parse(r.stdout).upload).toMatchObject({ idempotency_key: keys[0], attempts: 2, replayed: true });
  });

  it("a key used by an earlier run replays that run's answer: said as served when first uploaded, with its exit code, and where to see what is served now", async () => {
    answer({ status: 201, headers: { "Idempotent-Replayed": "true" }, body: responses.first() });
    const r = await calibrate("--idempotency-key", "build-v2");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^Calibrated .*: cal_\w+ \(served when first uploaded\)$/u);
    expect(r.stdout).not.toContain("(served now)");
    const cal = responses.first().calibration;
    expect(lines).toContain(
      `  (replayed: this --idempotency-key was used before; this is the first upload's answer as it was then, with its exit code: scoregate threshold --index ${cal.index} --embedding ${cal.embedding} --reranker ${cal.reranker} shows what is served now)`,
    );
    expect(lines.find((l) => l.startsWith("Serving"))).toMatch(/^Serving when first uploaded: served: /u);
    // a replayed refusal keeps its code (replay semantics) and its words say when
    answer({ status: 201, headers: { "Idempotent-Replayed": "true" }, body: responses.shifted() });
    const shifted = await calibrate("--idempotency-key", "build-v3");
    expect(shifted.code).toBe(3);
    expect(shifted.stdout.split("\n")[0]).toMatch(/\(stored, not served when first uploaded\)$/u);
    // the same key within one run (a retry) is this run's own answer: served now
    answer({ status: 201, body: responses.first() });
    expect((await calibrate()).stdout.split("\n")[0]).toMatch(/\(served now\)$/u);
  });

  it(`gives up after ${UPLOAD_ATTEMPTS} attempts, naming the key that gets the stored answer; a 4xx is not retried`, async () => {
    let n = 0;
    stub.handle(() => {
      n++;
      return { status: 500, body: { error: { code: "internal", message: "boom" } } };
    });
    const r = await calibrate("--idempotency-key", "rebuild-8");
    expect(r.code).toBe(1);
    expect(n).toBe(UPLOAD_ATTEMPTS);
    expect(r.stderr).toContain("run again with --idempotency-key rebuild-8");
    n = 0;
    stub.handle(() => {
      n++;
      return { status: 422, body: { error: { code: "invalid_request", message: "bad" } } };
    });
    expect((await calibrate()).code).toBe(2);
    expect(n).toBe(1);
  });

  it(`a key still in flight after ${UPLOAD_ATTEMPTS} attempts says to run it again with the same key, never a new one`, async () => {
    const keys: string[] = [];
    stub.handle((req) => {
      keys.push(req.headers["idempotency-key"] as string);
      return { status: 409, headers: { "Retry-After": "1" }, body: { error: { code: "idempotency_in_progress", message: "still in progress" } } };
    });
    const r = await calibrate("--idempotency-key", "rebuild-10");
    expect(r.code).toBe(1);
    expect(keys).toEqual(Array(UPLOAD_ATTEMPTS).fill("rebuild-10"));
    expect(r.stderr).toContain("still running on the server: run the same command again with the same --idempotency-key");
    expect(r.stderr).toContain("run again with --idempotency-key rebuild-10");
  });

  it("500 and 429 exit 1; 429 names the Retry-After", async () => {
    answer({ status: 500, body: { error: { code: "internal", message: "boom" } } });
    expect((await calibrate()).code).toBe(1);
    answer({ status: 429, headers: { "Retry-After": "7" }, body: { error: { code: "conflict", message: "slow down" } } });
    const r = await calibrate();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("retry after 7 s");
  });

  it("a non-scoregate answer (a proxy's HTML 502) exits 1 and questions the URL", async () => {
    answer({ status: 502, body: "<html>bad gateway</html>" });
    const r = await calibrate();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--url");
  });

  it("an unreachable server exits 1 and says how to point at one", async () => {
    const r = await cli(["gates"], { SCOREGATE_URL: "http://127.0.0.1:1", SCOREGATE_TOKEN: "t" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("could not reach http://127.0.0.1:1");
    expect(r.stderr).toContain("SCOREGATE_URL");
  });

  it.each(["localhost:8787", "127.0.0.1:8787", "ftp://example.com", "not a url"])(
    "a server URL that is not http(s) (%j) exits 2 before any request, saying what to write",
    async (url) => {
      const r = await cli(["gates"], { SCOREGATE_URL: url, SCOREGATE_TOKEN: "t" });
      expect([r.code, r.stderr.split("\n")[0]]).toEqual([
        2,
        `scoregate: ${JSON.stringify(url)} is not an http(s) URL: set --url or SCOREGATE_URL to the server, e.g. http://localhost:8787`,
      ]);
      const json = await cli(["threshold", "--embedding", "e", "--reranker", "r", "--url", url, "--json"], { SCOREGATE_TOKEN: "t" });
      expect(JSON.parse(json.stdout).error).toMatchObject({ code: "usage", source: "cli" });
    },
  );

  it("a refused connection is never received: the upload's error says nothing was stored, not to replay its key", async () => {
    // a port nothing listens on: bound, then closed
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await cli(["calibrate", scores, "--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--target", "0.2"], {
      SCOREGATE_URL: `http://127.0.0.1:${port}`,
      SCOREGATE_TOKEN: "t",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`could not reach http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(r.stderr).toContain(`tried ${UPLOAD_ATTEMPTS} times, and no attempt reached the server: nothing was stored`);
    expect(r.stderr).not.toContain("--idempotency-key");
  });

  it("a connection dropped after the upload was sent may have been stored: the error says to rerun with the same key", async () => {
    // reads the request, then closes the connection without an answer
    const dropping = createServer((socket) => socket.once("data", () => socket.destroy()));
    dropping.listen(0, "127.0.0.1");
    await once(dropping, "listening");
    try {
      const url = `http://127.0.0.1:${(dropping.address() as AddressInfo).port}`;
      const r = await cli(
        ["calibrate", scores, "--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--target", "0.2", "--idempotency-key", "rebuild-7"],
        { SCOREGATE_URL: url, SCOREGATE_TOKEN: "t" },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`could not reach ${url}`);
      expect(r.stderr).toContain(`sent ${UPLOAD_ATTEMPTS} times with Idempotency-Key rebuild-7: run again with --idempotency-key rebuild-7`);
      // a dry run stores nothing: no answer is kept under its key
      const dry = await cli(
        [
          "calibrate",
          scores,
          "--embedding",
          "e5",
          "--reranker",
          "bge",
          "--index-version",
          "v2",
          "--target",
          "0.2",
          "--idempotency-key",
          "rebuild-7",
          "--dry-run",
        ],
        { SCOREGATE_URL: url, SCOREGATE_TOKEN: "t" },
      );
      expect(dry.code).toBe(1);
      expect(dry.stderr).toContain(`tried ${UPLOAD_ATTEMPTS} times: a dry run stores nothing; run the command again once the server answers`);
      expect(dry.stderr).not.toContain("if the server stored it");
    } finally {
      await new Promise((resolve) => dropping.close(resolve));
    }
  });

  it.each([
    [{ code: "ECONNREFUSED" }, true],
    [{ code: "ENOTFOUND" }, true],
    [Object.assign(new AggregateError([{ code: "ECONNREFUSED" }, { code: "EHOSTUNREACH" }]), { code: "ECONNREFUSED" }), true],
    [{ message: "bad port" }, true],
    [{ code: "ECONNRESET" }, false],
    [{ code: "UND_ERR_SOCKET" }, false],
    [Object.assign(new AggregateError([{ code: "ECONNREFUSED" }, { code: "ECONNRESET" }]), { code: "ECONNREFUSED" }), false],
    [{ message: "other side closed" }, false],
    [undefined, false],
  ])("notSentCause(%j) is %s", (cause, expected) => {
    expect(notSentCause(cause)).toBe(expected);
  });

  it.each(["", "  "])("SCOREGATE_URL=%j (set but empty) is unset: the default URL, as --help says", async (empty) => {
    // a fetch that records where it was sent and answers nothing: no server is needed, and none on :8787 is asked
    const urls: string[] = [];
    let stderr = "";
    const code = await run(["threshold", "--embedding", "e5", "--reranker", "bge"], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s) },
      env: { SCOREGATE_URL: empty, SCOREGATE_TOKEN: "t" },
      fetch: async (url) => {
        urls.push(String(url));
        throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
      },
    });
    expect(code).toBe(1);
    expect(urls.map((u) => new URL(u).origin)).toEqual(["http://localhost:8787"]);
    expect(stderr).toContain("could not reach http://localhost:8787 (ECONNREFUSED)");
  });

  it("a server URL that ends with /v1 exits 2 saying to drop it (the CLI's paths start with /v1)", async () => {
    const r = await cli(["gates"], { SCOREGATE_URL: "http://localhost:8787/v1/", SCOREGATE_TOKEN: "t" });
    expect([r.code, r.stderr.split("\n")[0]]).toEqual([
      2,
      'scoregate: "http://localhost:8787/v1/" ends with /v1: give the server\'s base URL without it, e.g. "http://localhost:8787"',
    ]);
  });

  it("a server slower than --timeout exits 1", async () => {
    answer({ status: 200, body: { gates: [] }, delayMs: 2000 });
    const r = await cli(["gates", "--timeout", "0.2"], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no answer from");
  });

  it.each([
    [["calibrate", "x.csv", "--reranker", "bge", "--index-version", "v", "--target", "0.2"], "missing --embedding"],
    [["calibrate", "x.csv", "--embedding", "e", "--reranker", "bge", "--target", "0.2"], "missing --index-version"],
    [["calibrate", "x.csv", "--embedding", "e", "--reranker", "bge", "--index-version", "v"], "choose a policy"],
    [["calibrate", "x.csv", "--embedding", "e", "--reranker", "bge", "--index-version", "v", "--target", "1.5"], '--target "1.5" is not valid'],
    [["calibrate", "x.csv", "--embedding", "e", "--reranker", "bge", "--index-version", "v", "--target", "0.2", "--carry"], "not both"],
    [["calibrate", "--embedding", "e", "--reranker", "bge", "--index-version", "v", "--target", "0.2"], "needs a score file"],
    [
      ["calibrate", "x.csv", "--embedding", "e", "--reranker", "bge", "--index-version", "v", "--target", "0.2", "--format", "xml"],
      '--format "xml" is not one of csv, tsv, jsonl, text',
    ],
    [["frobnicate"], "unknown command"],
    [["gates", "--colour"], "unknown flag --colour"],
    [["activate"], "activate takes one calibration id"],
  ])("usage error %j exits 2 (%s)", async (argv, message) => {
    const r = await cli(argv, env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    // the command's own help once the command is known, else the overview
    expect(r.stderr).toMatch(/\n {2}scoregate (?:[a-z]+ )?--help /u);
  });

  it.each([
    [["activate", "", "--reason", "x"], "calibration id"],
    [["shadow", "", "--sample-rate", "0.2"], "calibration id"],
    [["shadow", " ", "--remove"], "calibration id"],
    [["promote", "", "--steps", "10,50,100", "--min-queries", "200", "--tolerance", "0.08"], "calibration id"],
    [["promote", "", "--rollback"], "calibration id"],
    [["promotion", ""], "promotion or calibration id"],
  ])("an empty id (an unset shell variable) %j exits 2 saying so, before anything is sent", async (argv, what) => {
    stub.reset();
    const r = await cli(argv, env());
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      `scoregate: the ${what} is empty: is the shell variable set? \`scoregate history --index I --embedding E --reranker R\` lists the ids`,
    );
    expect(r.stderr).toContain(`scoregate ${argv[0]} --help`);
    expect(stub.last().request).toBeNull();
  });

  it("an empty --reference (an unset shell variable) exits 2 saying so, before anything is sent", async () => {
    stub.reset();
    const gate = ["--index", "docs", "--embedding", "e", "--reranker", "bge", "--index-version", "v2"];
    const r = await cli(["calibrate", "x.csv", ...gate, "--carry", "--reference", ""], env());
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      "scoregate: the --reference id is empty: is the shell variable set? `scoregate history --index I --embedding E --reranker R` lists the ids (or --reference active)",
    );
    expect(stub.last().request).toBeNull();
  });

  it("a file with a retriever score beside the reranker's exits 2 naming both and --score-column, before anything is sent; the flag chooses", async () => {
    const both = join(dir, "both.csv");
    writeFileSync(
      both,
      `query_id,doc_id,score,rerank_score\n${Array.from({ length: 200 }, (_, i) => `q${i % 10},d${i},${(i * 0.37) % 1},${(i * 0.61) % 1}`).join("\n")}\n`,
    );
    const gate = ["--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--target", "0.2"];
    stub.reset();
    const r = await cli(["calibrate", both, ...gate], env());
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      'scoregate: several score columns: "score" (column 3), "rerank_score" (column 4); which holds the scores? pass --score-column NAME with the one to read',
    );
    expect(stub.last().request).toBeNull();
    answer({ status: 201, body: responses.first() });
    const chosen = await cli(["calibrate", both, ...gate, "--score-column", "rerank_score"], env());
    expect(chosen.code).toBe(0);
    expect(chosen.stdout).toContain('score column "rerank_score"');
  });

  it("an API request body given as the score file exits 2 naming it, with curl and the conversion, before anything is sent", async () => {
    const v2 = new URL("../../../fixtures/walkthrough/v2.json", import.meta.url).pathname;
    stub.reset();
    const r = await cli(
      ["calibrate", v2, "--index", "docs", "--embedding", "e5", "--reranker", "bge", "--index-version", "v2", "--carry", "--dry-run"],
      env(),
    );
    expect(r.code).toBe(2);
    const lines = r.stderr.split("\n");
    expect(lines[0]).toMatch(/^scoregate: line 1 is an API request body \(POST \/v1\/calibrations: .*"policy", "queries"\), not a score file/u);
    expect(lines[1]).toMatch(/^ {2}send it as it is: curl -X POST /u);
    expect(lines[2]).toMatch(/^ {2}or write its scores as a file for this command: jq -r /u);
    expect(lastBody()).toBe("");
  });

  it("a bad file exits 2 with line numbers, before anything is sent", async () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "query_id,score\nq1,0.5\nq1,oops\n");
    stub.reset();
    const r = await cli(["calibrate", bad, "--embedding", "e", "--reranker", "bge", "--index-version", "v", "--target", "0.2"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line 3: "oops" is not a finite number');
    expect(lastBody()).toBe("");
  });

  it("a column that looks like a query id is not silently dropped: exit 2 naming it; --no-query-column uploads the scores flat", async () => {
    const p = join(dir, "question.csv");
    writeFileSync(p, `question_id,ce_score\n${Array.from({ length: 40 }, (_, i) => `q${Math.floor(i / 4)},${i / 40}`).join("\n")}\n`);
    const argv = ["calibrate", p, "--embedding", "e", "--reranker", "bge", "--index-version", "v", "--target", "0.2", "--score-column", "ce_score"];
    stub.reset();
    const r = await cli(argv, env());
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      "scoregate: column question_id looks like a query id: pass --query-column question_id to keep per-query statistics, or --no-query-column to upload the scores as one flat list",
    );
    expect(lastBody()).toBe("");
    answer({ status: 201, body: responses.first() });
    const flat = await cli([...argv, "--no-query-column"], env());
    expect(flat.code).toBe(0);
    expect(lastBody().trimEnd().split("\n")).toHaveLength(41);
    const grouped = await cli([...argv, "--query-column", "question_id", "--json"], env());
    expect(JSON.parse(grouped.stdout).upload).toMatchObject({ queries: 10, query_column: "question_id" });
    const both = await cli([...argv, "--query-column", "question_id", "--no-query-column"], env());
    expect([both.code, both.stderr.split("\n")[0]]).toEqual([2, "scoregate: --query-column and --no-query-column cannot be combined: give one"]);
  });

  it("no token exits 2 and names the variable", async () => {
    const r = await cli(["gates"], { SCOREGATE_URL: stub.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("set SCOREGATE_TOKEN or --token");
  });
});

describe("the exit codes as the READMEs state them", () => {
  // a pipeline author copies the `echo $?` line: it must name every code calibrate exits with, as --help does
  it.each(["packages/cli/README.md", "README.md"])(
    "%s names every calibrate exit code, none as --strict only, and a --dry-run's 0 as would be served",
    (path) => {
      const text = readFileSync(join(import.meta.dirname, "..", "..", "..", path), "utf8");
      const line = text.split("\n").find((l) => l.startsWith("echo $?") && l.includes("served"));
      expect(line).toBeDefined();
      // after a --dry-run (in the command's flags, not its comment) nothing is served: the line says what would be, as --help does
      const lines = text.split("\n");
      const before = lines.slice(0, lines.indexOf(line!));
      const command = before.slice(before.findLastIndex((l) => l.includes("scoregate calibrate"))).map((l) => l.split("#")[0]!);
      if (command.some((l) => /--dry-run\b/u.test(l))) expect(line).toContain("0 served (with --dry-run: would be;");
      for (const [code, words] of [
        [EXIT.ok, "0 served"],
        [EXIT.shifted, "3 shifted"],
        [EXIT.inconclusive, "4 inconclusive,"],
        [EXIT.targetMissed, "5 misses its target"],
        [EXIT.promotionOpen, "6 a promotion is open"],
        [EXIT.usage, "2 bad input"],
        [EXIT.failure, "1 server down"],
      ] as const)
        expect([code, line]).toEqual([code, expect.stringContaining(words)]);
    },
  );
});
