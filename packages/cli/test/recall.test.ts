/**
 * `scoregate calibrate --recall R [--coverage C]` and `--answerable-column C`, against a stub server that answers with
 * real responses of the local worker (test/fixtures/responses.json): what is sent (graded labels with --relevant-at, a
 * query without a relevant candidate, tied scores, answerable flags), what is refused before anything is sent (exit 2),
 * the printed guarantee, and how the server's recall refusals read.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { responses } from "./support/responses";
import { cli } from "./support/run";
import { stubFixture } from "./support/stub-server";

const { stub, dir, env } = stubFixture("scoregate-cli-recall-", () => writeFileSync(graded, `${GRADED}\n`));
/**
 * Graded labels 0-3 (relevant at 2). q1's rows are apart in the file; q2 has no relevant candidate (its best grade is
 * 1); q3's two candidates tie at 0.5; the answerable flag is the query's, in mixed case.
 */
const graded = join(dir, "graded.csv");
const GRADED = ["query_id,score,grade,answerable", "q1,0.9,3,yes", "q2,0.2,0,No", "q1,0.4,1,YES", "q2,0.7,1,no", "q3,0.5,2,1", "q3,0.5,0,1"].join(
  "\n",
);

const gate = ["--embedding", "e5", "--reranker", "bge", "--index-version", "v2"];
const calibrate = (file: string, ...extra: string[]) => cli(["calibrate", file, ...gate, ...extra], env());
/** The NDJSON lines of the last upload, parsed: the header, then one labelled query each. */
const sent = (): Record<string, unknown>[] =>
  stub
    .last()
    .body.trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

describe("--recall: what is sent", () => {
  it("graded labels with --relevant-at: the recall policy (the server's default coverage left to it) and every query, with its labels as written", async () => {
    stub.handle(() => ({ status: 201, body: responses.recall() }));
    const r = await calibrate(graded, "--recall", "0.9", "--label-column", "grade", "--relevant-at", "2");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [meta, ...queries] = sent();
    expect(meta).toMatchObject({ relevant_at: 2, policy: { kind: "recall", target: 0.9 } });
    expect(meta!.policy).toEqual({ kind: "recall", target: 0.9 });
    // q2 has no relevant candidate: it is sent all the same (the server counts it and leaves it out of coverage);
    // q3's tied scores travel exactly; no answerable field without --answerable-column
    expect(queries).toEqual([
      { scores: [0.9, 0.4], relevance: [3, 1] },
      { scores: [0.2, 0.7], relevance: [0, 1] },
      { scores: [0.5, 0.5], relevance: [2, 0] },
    ]);
  });

  it("--coverage, the guards and --abstain-alpha with --answerable-column: the policy's fields and one flag per labelled line", async () => {
    stub.handle(() => ({ status: 201, body: responses.recall() }));
    const r = await calibrate(
      graded,
      ...["--recall", "0.95", "--coverage", "all_relevant", "--min-keep", "1", "--max-keep", "10"],
      ...["--label-column", "grade", "--relevant-at", "2", "--abstain-alpha", "0.1", "--answerable-column", "answerable"],
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [meta, ...queries] = sent();
    expect(meta!.policy).toEqual({ kind: "recall", target: 0.95, coverage: "all_relevant", min_keep: 1, max_keep: 10, abstention: { alpha: 0.1 } });
    expect(queries.map((q) => q.answerable)).toEqual([true, false, true]);
    expect(r.stdout).toContain('label column "grade", answerable column "answerable"');
  });

  it("--abstain-rate goes with --recall (abstention without labels is a share of queries)", async () => {
    stub.handle(() => ({ status: 201, body: responses.recall() }));
    expect((await calibrate(graded, "--recall", "0.9", "--label-column", "grade", "--relevant-at", "2", "--abstain-rate", "0.05")).code).toBe(0);
    expect(sent()[0]!.policy).toEqual({ kind: "recall", target: 0.9, abstention: { rate: 0.05 } });
  });
});

describe("--recall and --answerable-column: exit 2 before anything is sent", () => {
  const labels = ["--label-column", "grade", "--relevant-at", "2"];
  it.each([
    [
      ["--recall", "0.9"],
      "--recall needs relevance labels: name the column (or JSONL field) that holds each candidate's label with --label-column C",
    ],
    [
      ["--recall", "0.9", "--target", "0.3", ...labels],
      "give one policy: --recall R (a recall guarantee), --target D or --carry [THRESHOLD], not --recall and --target",
    ],
    [["--recall", "0.9", "--carry", ...labels], "not --recall and --carry"],
    [["--recall", "0.9", "--reference", "active", ...labels], "--reference goes with --carry, not with --recall"],
    [["--recall", "1", ...labels], '--recall "1" is not valid: it must be a coverage target in (0, 1)'],
    [["--recall", "0", ...labels], '--recall "0" is not valid'],
    [["--recall", "90", ...labels], '--recall "90" is not valid'],
    [
      ["--recall", "0.9", "--coverage", "any-relevant", ...labels],
      '--coverage "any-relevant" is not one of any_relevant, all_relevant, candidates: did you mean any_relevant?',
    ],
    [["--target", "0.3", "--coverage", "all_relevant"], "--coverage goes with --recall R"],
    [
      ["--recall", "0.9", "--abstain-carry", ...labels],
      "--abstain-carry goes with --carry (it carries the reference's abstention rate): with --recall, give the rate with --abstain-rate R or the false-abstention level with --abstain-alpha A",
    ],
    [
      ["--recall", "0.9", "--float32", ...labels],
      "--recall cannot be sent as float32: it goes with relevance labels, and a float32 body carries scores only",
    ],
    [["--recall", "0.9", "--max-keep", "5", "--min-keep", "6", ...labels], "--max-keep 5 is below --min-keep 6"],
    [["--recall", "0.9", ...labels, "--no-query-column"], "--label-column and --no-query-column cannot be combined"],
    [["--target", "0.3", "--answerable-column", "answerable"], "--answerable-column goes with --abstain-alpha A"],
    [["--recall", "0.9", ...labels, "--answerable-column", "answerable"], "--answerable-column goes with --abstain-alpha A"],
    [
      ["--target", "0.3", ...labels, "--abstain-alpha", "0.1", "--answerable-column", "answerable", "--float32"],
      "--answerable-column cannot be sent as float32",
    ],
    [
      ["--recall", "0.9", ...labels, "--abstain-alpha", "0.1", "--answerable-column", "answerable", "--float32"],
      "--recall and --answerable-column cannot be sent as float32: they go with relevance labels",
    ],
    [["--recall"], "--recall needs a value, e.g. --recall 0.9"],
    [["--recal", "0.9"], "unknown flag --recal: did you mean --recall?"],
  ])("%j", async (flags, message) => {
    stub.reset();
    const r = await calibrate(graded, ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
    expect(stub.last().request).toBeNull();
  });

  it("rows of a query that disagree on the flag, or a value that is no flag: the file is refused with the lines", async () => {
    stub.reset();
    const p = join(dir, "disagree.csv");
    writeFileSync(p, "query_id,score,grade,answerable\nq1,0.9,3,yes\nq2,0.2,0,sometimes\nq1,0.4,1,no\n");
    const r = await calibrate(
      p,
      "--target",
      "0.3",
      "--label-column",
      "grade",
      "--relevant-at",
      "2",
      "--abstain-alpha",
      "0.1",
      "--answerable-column",
      "answerable",
      "--json",
    );
    expect(r.code).toBe(2);
    const error = JSON.parse(r.stdout).error;
    expect(error.code).toBe("invalid_file");
    expect(error.message).toBe(`2 bad rows in ${p}: fix or remove them`);
    expect(error.hints).toEqual([
      'line 3: the answerable flag is "sometimes", not true/false, 1/0 or yes/no',
      'line 4: query "q1" is not answerable here and answerable on line 2: the flag is the query\'s, so every row of a query must give the same',
    ]);
    expect(stub.last().request).toBeNull();
  });

  it("calibrate --help names the recall flags", async () => {
    const r = await cli(["calibrate", "--help"], env());
    for (const f of ["--recall R [--coverage C]", "--answerable-column C", "any_relevant", "all_relevant", "candidates"])
      expect(r.stdout).toContain(f);
  });
});

describe("the summary of a recall calibration", () => {
  it("states the guarantee the server returned: bound, target, notion, interval, in sample, pooled, ties and the tradeoff", async () => {
    const body = responses.recall();
    const rc = body.calibration.recall!;
    // the recorded fit has the conditions the lines speak of: queries without a relevant candidate, ties at the threshold
    expect(body.calibration.labels!.queries_without_relevant).toBe(40);
    expect(rc.ties_at_threshold).toBeGreaterThan(1);
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate(graded, "--recall", "0.9", "--label-column", "grade", "--relevant-at", "2");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `  recall      guaranteed: at least one relevant candidate kept for at least ${pct(rc.coverage_bound)} of fresh queries (target 90.0 %, any_relevant; 200 labelled queries, rank ${rc.k} of 200)\n`,
    );
    expect(r.stdout).toContain(
      `              this gate: coverage expected ${pct(rc.expected_coverage!)} (95 %: ${pct(rc.coverage_interval_95[0])} to ${pct(rc.coverage_interval_95[1])}), in sample ${pct(rc.in_sample_coverage)}; ${pct(rc.pooled_relevant_kept!)} of all relevant candidates kept (pooled)\n`,
    );
    expect(r.stdout).toContain(`              ${rc.ties_at_threshold} labelled queries tie at the threshold: a gate keeps scores equal to it`);
    const row = rc.tradeoff.find((t) => t.target === 0.95)!;
    const tradeoff = r.stdout.split("\n").find((l) => l.startsWith("  tradeoff    recall "));
    expect(tradeoff).toContain(`, 95.0 % drops ${pct(row.drop_rate!)} at ${row.threshold},`);
    expect(tradeoff).toContain(`90.0 % drops ${pct(rc.implied_drop_rate)} at ${body.calibration.threshold}`);
    // the conformal rate at the recall threshold, the in-sample one (the tradeoff's) beside it; never called "implied"
    expect(r.stdout).toContain(
      `  drop rate   ${pct(body.calibration.target_drop_rate)} at the recall target's threshold (conformal: (below+1)/(n+1); ${pct(rc.implied_drop_rate)} in sample), expected ${pct(body.calibration.expected_drop_rate)}`,
    );
    expect(r.stdout).not.toContain("implied");
    expect(r.stdout).toContain("  labels      200 of 240 queries have a relevant candidate");
    // the server's warning about the queries without a relevant candidate is printed
    expect(r.stdout).toContain("40 of 240 labelled queries have no relevant candidate");
    expect(r.stdout).not.toMatch(/\d\.\d{7,}/u);
  });

  it("writes the rank and the labelled queries with thousands separators", async () => {
    const body = responses.recall();
    body.calibration.recall = { ...body.calibration.recall!, k: 10_812, n: 12_000 };
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate(graded, "--recall", "0.9", "--label-column", "grade", "--relevant-at", "2");
    expect(r.stdout).toContain("(target 90.0 %, any_relevant; 12,000 labelled queries, rank 10,812 of 12,000)\n");
  });

  it("the other coverage notions read as what they promise; without ties or the newer fields, those lines are left out", async () => {
    const body = responses.recall();
    const { expected_coverage: _e, pooled_relevant_kept: _p, ties_at_threshold: _t, ...old } = body.calibration.recall!;
    body.calibration.recall = { ...old, coverage: "candidates", rule: "risk_control", tradeoff: [] };
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate(graded, "--recall", "0.9", "--coverage", "candidates", "--label-column", "grade", "--relevant-at", "2");
    expect(r.stdout).toContain(
      `guaranteed: at least ${pct(old.coverage_bound)} of a fresh query's relevant candidates kept, on average over queries (target 90.0 %, candidates; 200 labelled queries, risk control)`,
    );
    expect(r.stdout).toContain(`this gate: coverage (95 %: ${pct(old.coverage_interval_95[0])}`);
    expect(r.stdout).not.toMatch(/pooled|tie at the threshold|^ {2}tradeoff/mu);
    const unfit = { target: 0.99, threshold: null, coverage_bound: null, drop_rate: null, empty_context_rate: null };
    body.calibration.recall = { ...old, coverage: "all_relevant", tradeoff: [old.tradeoff[4]!, unfit] };
    const all = await calibrate(graded, "--recall", "0.9", "--coverage", "all_relevant", "--label-column", "grade", "--relevant-at", "2");
    expect(all.stdout).toContain("guaranteed: every relevant candidate kept for at least");
    expect(all.stdout).toMatch(/^ {2}tradeoff {4}recall 90\.0 % drops \d+\.\d % at 0\.39, 99\.0 % needs more queries$/mu);
  });

  it("a tradeoff row without a threshold says why: the labelled queries it needs, or the cap that puts it out of reach", async () => {
    const body = responses.recall();
    const rc = body.calibration.recall!;
    const nulls = { threshold: null, coverage_bound: null, drop_rate: null, empty_context_rate: null };
    const capped = { ...nulls, unfit_reason: "target_unreachable" as const, minimum_queries: null, highest_target: 0.947630922693 };
    body.calibration.recall = {
      ...rc,
      tradeoff: [
        rc.tradeoff.find((t) => t.target === 0.9)!,
        { target: 0.95, ...capped },
        { target: 0.98, ...capped, highest_target: null },
        { target: 0.99, ...nulls, unfit_reason: "too_few_labelled_queries", minimum_queries: 99, highest_target: null },
      ],
    };
    const guards = {
      min_keep: 0,
      max_keep: 5,
      min_keep_binding_rate: 0,
      max_keep_binding_rate: 0.4,
      bare_drop_rate: 0.5,
      reachable: { lowest: 0.5, highest: 1 },
    };
    body.calibration.guards = guards;
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate(graded, "--recall", "0.9", "--max-keep", "5", "--label-column", "grade", "--relevant-at", "2");
    expect(r.code).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("  tradeoff    recall "))!;
    // the highest target is rounded down (0.94763 -> 0.9476), so that --recall 0.9476 is itself reachable
    expect(line).toMatch(
      /, 95\.0 % out of reach with max_keep 5 \(highest target 0\.9476\), 98\.0 % out of reach with max_keep 5 \(no target reachable\), 99\.0 % needs 99 labelled queries$/u,
    );
    expect(line).not.toContain("needs more queries");
    // a server that sends no reason: with a cap, either cause is possible
    body.calibration.recall = { ...rc, tradeoff: [rc.tradeoff.find((t) => t.target === 0.9)!, { target: 0.99, ...nulls }] };
    const old = await calibrate(graded, "--recall", "0.9", "--max-keep", "5", "--label-column", "grade", "--relevant-at", "2");
    expect(old.stdout).toMatch(/, 99\.0 % needs more queries or a higher max_keep 5$/mu);
  });

  it("--json passes the server's recall report and labels through as sent, with the columns read", async () => {
    const body = responses.recall();
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate(graded, "--recall", "0.9", "--label-column", "grade", "--relevant-at", "2", "--json");
    const out = JSON.parse(r.stdout);
    expect(out.calibration.recall).toEqual(body.calibration.recall);
    expect(out.calibration.labels).toEqual(body.calibration.labels);
    expect(out.calibration.policy).toEqual({ kind: "recall", target: 0.9, coverage: "any_relevant" });
    expect(out.upload).toMatchObject({ label_column: "grade", answerable_column: null, queries: 3 });
  });
});

describe("the server's refusals of a recall gate", () => {
  it("too_few_labelled_queries: exit 2, how many labelled queries the target needs and what to do", async () => {
    const refusal = responses.tooFewLabelledQueries();
    stub.handle(() => ({ status: 422, body: refusal }));
    const r = await calibrate(graded, "--recall", "0.99", "--label-column", "grade", "--relevant-at", "2");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("422 too_few_labelled_queries: target coverage 99 % (any_relevant) needs at least 99 labelled queries");
    expect(r.stderr).toContain(
      "a recall target of 99.0 % (any_relevant) needs at least 99 labelled queries with a relevant candidate, the upload has 17 (and 3 without one, which count for nothing here): lower --recall or label more queries",
    );
  });

  it("target_unreachable from max_keep: the queries it cuts off and the highest --recall these guards allow", async () => {
    const details = { target: 0.95, coverage: "any_relevant", labelled_queries: 200, lost: 14, max_keep: 2, highest_target: 0.93035 };
    const message = "max_keep 2 loses the relevant candidates of 14 of 200 labelled queries at every threshold";
    stub.handle(() => ({ status: 422, body: { error: { code: "target_unreachable", message, details } } }));
    const r = await calibrate(graded, "--recall", "0.95", "--max-keep", "2", "--label-column", "grade", "--relevant-at", "2");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "--max-keep 2 cuts off the relevant candidates of 14 of 200 labelled queries at every threshold: raise --max-keep, or lower --recall (these guards allow --recall up to 0.9303)",
    );
    stub.handle(() => ({ status: 422, body: { error: { code: "target_unreachable", message, details: { ...details, highest_target: null } } } }));
    const none = await calibrate(graded, "--recall", "0.95", "--max-keep", "2", "--label-column", "grade", "--relevant-at", "2");
    expect(none.stderr).toContain("(no target is reachable with this cap)");
    // 1 - 32/100 in floating point: rounded down, it is still 0.68, not 0.6799
    stub.handle(() => ({
      status: 422,
      body: { error: { code: "target_unreachable", message, details: { ...details, highest_target: 1 - 32 / 100 } } },
    }));
    const exact = await calibrate(graded, "--recall", "0.95", "--max-keep", "2", "--label-column", "grade", "--relevant-at", "2");
    expect(exact.stderr).toContain("(these guards allow --recall up to 0.68)");
  });

  it("target_unreachable for candidates coverage: the pooled loss, not a count of queries", async () => {
    const details = { target: 0.9, coverage: "candidates", labelled_queries: 40, lost: 13.333333333333341, max_keep: 3, highest_target: 0.6504065 };
    const message = "max_keep 3 loses 13.33 queries' worth of relevant candidates of the 40 labelled queries";
    stub.handle(() => ({ status: 422, body: { error: { code: "target_unreachable", message, details } } }));
    const r = await calibrate(
      graded,
      "--recall",
      "0.9",
      "--coverage",
      "candidates",
      "--max-keep",
      "3",
      "--label-column",
      "grade",
      "--relevant-at",
      "2",
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "--max-keep 3 cuts off 13.33 queries' worth of relevant candidates of the 40 labelled queries (each query counts the share of its relevant candidates ranked beyond the cap) at every threshold: raise --max-keep, or lower --recall (these guards allow --recall up to 0.6504)",
    );
    expect(r.stderr).not.toMatch(/of 40 labelled queries at|13\.3{5}/u);
  });
});
