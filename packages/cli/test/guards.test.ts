/**
 * `scoregate calibrate` with guards (--min-keep, --max-keep) and abstention (--abstain-rate, --abstain-carry), against
 * a stub server that answers with real responses of the local worker (test/fixtures/responses.json): what is sent,
 * what is refused before anything is sent (exit 2), how the server's refusals read, and the summary of a guarded,
 * abstaining fit.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_CANDIDATES_PER_QUERY } from "../../../src/contract";
import { responses } from "./support/responses";
import { cli } from "./support/run";
import { stubFixture } from "./support/stub-server";

const { stub, dir, env } = stubFixture("scoregate-cli-guards-", () => {
  writeFileSync(grouped, `query_id,score\n${values.map((x, i) => `q${i % 10},${x}`).join("\n")}\n`);
  writeFileSync(flat, `${values.join("\n")}\n`);
});
/** 10 queries of 5 candidates (equal sizes, so --float32 can send them) and the same scores flat. */
const grouped = join(dir, "grouped.csv");
const flat = join(dir, "flat.txt");
const values = Array.from({ length: 50 }, (_, i) => ((i * 0.377) % 1) + 0.001);
const gate = ["--embedding", "e5", "--reranker", "bge", "--index-version", "v2"];
const calibrate = (file: string, ...extra: string[]) => cli(["calibrate", file, ...gate, ...extra], env());
/** The NDJSON header line of the last upload. */
const sentMeta = (): { policy: Record<string, unknown> } => JSON.parse(stub.last().body.split("\n")[0]!);

describe("guard and abstention flags: what is sent", () => {
  it("--target with --min-keep, --max-keep and --abstain-rate: the policy's fields, as the API takes them", async () => {
    stub.handle(() => ({ status: 201, body: responses.guarded() }));
    const r = await calibrate(grouped, "--target", "0.3", "--min-keep", "3", "--max-keep", "15", "--abstain-rate", "0.05");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(sentMeta().policy).toEqual({ kind: "drop_rate", target: 0.3, min_keep: 3, max_keep: 15, abstention: { rate: 0.05 } });
  });

  it('--carry with --abstain-carry sends abstention "carry"; a carry without guard flags states none (the reference\'s are kept)', async () => {
    stub.handle(() => ({ status: 201, body: responses.guarded() }));
    expect((await calibrate(grouped, "--carry", "--abstain-carry")).code).toBe(0);
    expect(sentMeta().policy).toEqual({ kind: "carry", reference: "active", abstention: "carry" });
    const id = responses.first().calibration.id;
    expect((await calibrate(grouped, "--carry", "0.4", "--reference", id)).code).toBe(0);
    expect(sentMeta().policy).toEqual({ kind: "carry", threshold: 0.4, reference: { calibration_id: id } });
    // --min-keep 0 is how a carry drops the reference's guards: it is sent, not left out
    expect((await calibrate(grouped, "--carry", "--min-keep", "0")).code).toBe(0);
    expect(sentMeta().policy).toEqual({ kind: "carry", reference: "active", min_keep: 0 });
  });

  it("--float32 sends the guards and the abstention rate as query parameters, with candidates_per_query", async () => {
    stub.handle(() => ({ status: 201, body: responses.guarded() }));
    const r = await calibrate(grouped, "--target", "0.3", "--min-keep", "1", "--max-keep", "4", "--abstain-rate", "0.1", "--float32");
    expect(r.code).toBe(0);
    const url = new URL(stub.last().request!.url!, stub.url);
    expect(stub.last().request!.headers["content-type"]).toBe("application/octet-stream");
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      kind: "drop_rate",
      target: "0.3",
      min_keep: "1",
      max_keep: "4",
      abstention_rate: "0.1",
      candidates_per_query: "5",
    });
  });
});

describe("relevance labels (--label-column) and abstention for a false-abstention level (--abstain-alpha)", () => {
  it("sends labelled query lines {scores, relevance}, grouped per query, with relevant_at and the alpha policy", async () => {
    const p = join(dir, "labelled.csv");
    // rows of one query need not be adjacent: the labels travel with their scores
    writeFileSync(p, "query_id,score,grade\nq1,0.9,3\nq2,0.2,0\nq1,0.4,1\nq2,0.7,2\nq3,0.5,0\n");
    stub.handle(() => ({ status: 201, body: responses.labelled() }));
    const r = await calibrate(p, "--target", "0.3", "--label-column", "grade", "--relevant-at", "2", "--abstain-alpha", "0.1");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = stub.last().body.trimEnd().split("\n");
    expect(JSON.parse(lines[0]!)).toMatchObject({ relevant_at: 2, policy: { kind: "drop_rate", target: 0.3, abstention: { alpha: 0.1 } } });
    expect(lines.slice(1).map((l) => JSON.parse(l))).toEqual([
      { scores: [0.9, 0.4], relevance: [3, 1] },
      { scores: [0.2, 0.7], relevance: [0, 2] },
      { scores: [0.5], relevance: [0] },
    ]);
    expect(r.stdout).toContain('label column "grade"');
  });

  it("the summary of a labelled fit: the labels, and what the false-abstention guarantee promises and catches", async () => {
    const body = responses.labelled();
    const a = body.calibration.abstention!;
    // a server from before coverage_with_abstention was reported: the coverage without abstention alone
    const { coverage_with_abstention: _counted, ...plain } = body.calibration.labels!;
    stub.handle(() => ({ status: 201, body: { ...body, calibration: { ...body.calibration, labels: plain } } }));
    const p = join(dir, "labelled-summary.csv");
    writeFileSync(p, "query_id,score,label\nq1,0.9,1\nq1,0.2,0\nq2,0.5,0\n");
    const r = await calibrate(p, "--target", "0.3", "--label-column", "label", "--abstain-alpha", "0.1");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "  labels      140 of 200 queries have a relevant candidate; the gate keeps one for 100.0 % of them, all for 100.0 %\n",
    );
    // the server's real answer counts the queries that abstain
    stub.handle(() => ({ status: 201, body }));
    expect((await calibrate(p, "--target", "0.3", "--label-column", "label", "--abstain-alpha", "0.1")).stdout).toContain(
      "  labels      140 of 200 queries have a relevant candidate; the gate keeps one for 90.7 % of them, all for 90.7 %, counting the queries that abstain (without abstention: 100.0 %, 100.0 %)\n",
    );
    // with the server's coverage counting the queries that abstain, the line leads with it
    const withAbstention = { ...body.calibration.labels!, coverage_with_abstention: { any_relevant: 0.9, all_relevant: 0.9, candidates: 0.9 } };
    stub.handle(() => ({ status: 201, body: { ...body, calibration: { ...body.calibration, labels: withAbstention } } }));
    const counted = await calibrate(p, "--target", "0.3", "--label-column", "label", "--abstain-alpha", "0.1");
    expect(counted.stdout).toContain(
      "  labels      140 of 200 queries have a relevant candidate; the gate keeps one for 90.0 % of them, all for 90.0 %, counting the queries that abstain (without abstention: 100.0 %, 100.0 %)\n",
    );
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    expect(r.stdout).toContain(
      `; answerable queries abstain with probability at most ${pct(a.false_abstention_bound!)} (alpha 10.0 %), catches ${pct(a.catch_rate!)} of unanswerable queries (95 %: ${pct(a.catch_interval_95![0])} to ${pct(a.catch_interval_95![1])})\n`,
    );
    expect(r.stdout).toContain(
      `a query keeps nothing when its top score is below ${Number(a.abstain_below!.toPrecision(4))}: expected ${pct(a.expected_rate)}`,
    );
  });

  it("graded labels without --relevant-at: the server's 422 names the line, the CLI names the flag", async () => {
    const details = [{ path: "line 2.relevance[0]", message: "must be 0 or 1 (or give relevant_at for graded labels)" }];
    stub.handle(() => ({ status: 422, body: { error: { code: "invalid_input", message: "invalid relevance labels", details } } }));
    const p = join(dir, "graded.csv");
    writeFileSync(p, "query_id,score,grade\nq1,0.9,3\nq1,0.2,0\n");
    const r = await calibrate(p, "--target", "0.3", "--label-column", "grade");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("line 2.relevance[0]: must be 0 or 1 (or give relevant_at for graded labels)");
    expect(r.stderr).toContain("graded relevance labels: pass --relevant-at X (a label at or above X is relevant)");
  });

  it("labels are refused where they cannot go: flat scores, JSONL arrays, --float32", async () => {
    stub.reset();
    const flatLabelled = join(dir, "flat-labelled.csv");
    writeFileSync(flatLabelled, "score,label\n0.9,1\n0.2,0\n0.5,0\n");
    const f = await calibrate(flatLabelled, "--target", "0.3", "--label-column", "label");
    expect(f.code).toBe(2);
    expect(f.stderr).toContain("--label-column needs queries");
    expect(f.stderr).not.toContain("JSONL array");
    const arrays = join(dir, "arrays.jsonl");
    writeFileSync(arrays, "[0.9,0.2]\n[0.5]\n");
    const a = await calibrate(arrays, "--target", "0.3", "--label-column", "label");
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("--label-column reads a column of a CSV/TSV file or a field of JSONL objects");
    const labelled = join(dir, "equal-labelled.csv");
    writeFileSync(labelled, "query_id,score,label\nq1,0.5,1\nq1,0.25,0\nq2,0.75,0\nq2,0.125,1\n");
    const f32 = await calibrate(labelled, "--target", "0.3", "--label-column", "label", "--float32");
    expect(f32.code).toBe(2);
    expect(f32.stderr).toContain("relevance labels cannot be sent as float32");
    expect(stub.last().request).toBeNull();
  });
});

describe("bad guard and abstention flags: exit 2 before anything is sent", () => {
  it.each([
    [["--target", "0.3", "--min-keep", "1.5"], '--min-keep "1.5" is not valid: it must be a whole number from 0'],
    [["--target", "0.3", "--min-keep", "-1"], "--min-keep needs a value"],
    [["--target", "0.3", "--min-keep=-1"], '--min-keep "-1" is not valid: it must be a whole number from 0'],
    [["--target", "0.3", "--max-keep", "0"], '--max-keep "0" is not valid: it must be a whole number from 1'],
    [
      ["--target", "0.3", "--max-keep", String(MAX_CANDIDATES_PER_QUERY + 1)],
      `it must be a whole number from 1 to ${MAX_CANDIDATES_PER_QUERY.toLocaleString("en-US")}`,
    ],
    [["--target", "0.3", "--min-keep", "5", "--max-keep", "3"], "--max-keep 3 is below --min-keep 5"],
    [
      ["--target", "0.3", "--min-keep", "1500", "--max-keep", "1200"],
      "--max-keep 1200 is below --min-keep 1500: a query cannot keep at most 1,200 and at least 1,500 candidates",
    ],
    [["--target", "0.3", "--abstain-rate", "1"], '--abstain-rate "1" is not valid: it must be a share of queries in [0, 1)'],
    [
      ["--target", "0.3", "--abstain-rate", "0.05", "--abstain-carry"],
      "give one of --abstain-rate R, --abstain-carry and --abstain-alpha A, not --abstain-rate and --abstain-carry",
    ],
    [["--target", "0.3", "--abstain-rate", "0.05", "--abstain-alpha", "0.1", "--label-column", "label"], "not --abstain-rate and --abstain-alpha"],
    [
      ["--target", "0.3", "--abstain-alpha", "0.1"],
      "--abstain-alpha needs to know which queries are answerable: name the column (or JSONL field) of each candidate's relevance label with --label-column C (a query is answerable iff it has a relevant candidate), or of each query's answerable flag with --answerable-column C",
    ],
    [
      ["--target", "0.3", "--abstain-alpha", "1", "--label-column", "label"],
      '--abstain-alpha "1" is not valid: it must be a false-abstention level in (0, 1)',
    ],
    [["--target", "0.3", "--relevant-at", "2"], "--relevant-at goes with --label-column"],
    [["--target", "0.3", "--label-column", "label", "--no-query-column"], "--label-column and --no-query-column cannot be combined"],
    [["--target", "0.3", "--abstain-carry"], "--abstain-carry goes with --carry"],
    [["--target", "0.3", "--min-kep", "3"], "unknown flag --min-kep: did you mean --min-keep?"],
    [["--target", "0.3", "--max-keep"], "--max-keep needs a value, e.g. --max-keep 10"],
    [["--target", "0.3", "--max-keep", "3", "--no-query-column"], "--max-keep and --no-query-column cannot be combined"],
  ])("%j", async (flags, message) => {
    stub.reset();
    const r = await calibrate(grouped, ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
    expect(stub.last().request).toBeNull();
  });

  it("guards or abstention on a file read as flat scores: refused with how to name the queries", async () => {
    stub.reset();
    const r = await calibrate(flat, "--target", "0.3", "--min-keep", "2", "--abstain-rate", "0.05");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--min-keep and --abstain-rate need queries: guards keep and drop by rank within a query`);
    expect(r.stderr).toContain(`${flat} was read as one flat list of scores`);
    expect(r.stderr).toContain("--query-column NAME");
    expect(stub.last().request).toBeNull();
    const one = await calibrate(flat, "--target", "0.3", "--max-keep", "2");
    expect(one.stderr).toContain("--max-keep needs queries");
  });

  it("--abstain-carry with --float32: the float32 query string has no carried form, so it is refused", async () => {
    stub.reset();
    const r = await calibrate(grouped, "--carry", "--abstain-carry", "--float32", "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe("invalid_upload");
    expect(JSON.parse(r.stdout).error.message).toContain("--abstain-carry cannot be sent as float32");
    expect(stub.last().request).toBeNull();
  });

  it("calibrate --help names every guard and abstention flag", async () => {
    const r = await cli(["calibrate", "--help"], env());
    for (const f of [
      "--min-keep N",
      "--max-keep N",
      "--abstain-rate R",
      "--abstain-carry",
      "--abstain-alpha A",
      "--label-column C",
      "--relevant-at X",
    ])
      expect(r.stdout).toContain(f);
  });
});

describe("the summary of a guarded, abstaining fit", () => {
  it("shows the guards with how often each binds, the bare drop rate, abstain_below with its share, and names the guard binding", async () => {
    const body = responses.guarded();
    const cal = body.calibration;
    const g = cal.guards!;
    // the recorded fit: min_keep's binding rate is what per_query reports as its "empty context" (level 3)
    expect(cal.per_query!.empty_context_level).toBe(3);
    expect(cal.per_query!.empty_context_rate).toBe(g.min_keep_binding_rate);
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate(grouped, "--target", "0.3", "--min-keep", "3", "--max-keep", "15", "--abstain-rate", "0.05");
    expect(r.code).toBe(0);
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    expect(r.stdout).toContain(
      `  guards      keep at least 3, at most 15 candidates per query: min_keep binds on ${pct(g.min_keep_binding_rate)} of queries, max_keep on ${pct(g.max_keep_binding_rate)}\n`,
    );
    expect(r.stdout).toContain(`              the bare threshold (score >= threshold alone) would drop ${pct(g.bare_drop_rate)}\n`);
    const a = cal.abstention!;
    expect(r.stdout).toContain(
      `  abstention  a query keeps nothing when its top score is below ${Number(a.abstain_below!.toPrecision(4))}: expected ${pct(a.expected_rate)} of queries (95 %: ${pct(a.rate_interval_95[0])} to ${pct(a.rate_interval_95[1])}), target 5.0 %\n`,
    );
    const perQuery = r.stdout.split("\n").find((l) => l.startsWith("  per query"));
    expect(perQuery).toContain(
      `min_keep binds on ${pct(g.min_keep_binding_rate)} (the threshold alone keeps fewer than min(3, candidates); never empty)`,
    );
    expect(r.stdout).not.toContain("left empty");
    expect(r.stdout).toMatch(/ {2}guard binds at 1 \/ 2 \/ 3 candidates a query: /u);
    expect(r.stdout).not.toMatch(/\d\.\d{7,}/u);
  });

  it("a gate without guards keeps its lines as they were: no guards or abstention line, 'left empty'", async () => {
    stub.handle(() => ({ status: 201, body: responses.equivalent() }));
    const r = await calibrate(grouped, "--target", "0.3");
    expect(r.stdout).not.toMatch(/^ {2}(guards|abstention|guard binds)|min_keep/mu);
    expect(r.stdout).toMatch(/per query .* left empty, design effect/u);
  });

  it("max_keep alone: its binding rate, and the per-query line still counts empty queries (min_keep 0 can leave one empty)", async () => {
    const body = responses.guarded();
    const { empty_context_level: _l, ...perQuery } = body.calibration.per_query!;
    body.calibration = { ...body.calibration, per_query: perQuery, guards: { ...body.calibration.guards!, min_keep: 0 }, abstention: null };
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate(grouped, "--target", "0.3", "--max-keep", "15");
    expect(r.stdout).toMatch(/ {2}guards {6}keep at most 15 candidates per query: max_keep binds on \d+\.\d % of queries\n/u);
    expect(r.stdout).toContain("left empty, design effect");
    expect(r.stdout).not.toMatch(/^ {2}abstention/mu);
  });

  it("writes guard counts with thousands separators, as every count it prints", async () => {
    const body = responses.guarded();
    body.calibration = { ...body.calibration, guards: { ...body.calibration.guards!, min_keep: 1000, max_keep: 2500 } };
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate(grouped, "--target", "0.3", "--min-keep", "1000", "--max-keep", "2500");
    expect(r.stdout).toMatch(/ {2}guards {6}keep at least 1,000, at most 2,500 candidates per query: min_keep binds on /u);
  });

  it("--json passes the server's guards and abstention through as sent", async () => {
    const body = responses.guarded();
    stub.handle(() => ({ status: 201, body }));
    const r = await calibrate(grouped, "--target", "0.3", "--min-keep", "3", "--max-keep", "15", "--abstain-rate", "0.05", "--json");
    const out = JSON.parse(r.stdout);
    expect(out.calibration.guards).toEqual(body.calibration.guards);
    expect(out.calibration.abstention).toEqual(body.calibration.abstention);
    expect(out.calibration.abstain_below).toBe(body.calibration.abstain_below);
    expect(out.calibration.per_query).toEqual(body.calibration.per_query);
  });
});

describe("the server's refusals of guards and abstention", () => {
  it("target_unreachable from the guards: exit 2, the server's reason and the reachable targets in the CLI's words", async () => {
    const refusal = responses.targetUnreachableGuards();
    stub.handle(() => ({ status: 422, body: refusal }));
    const r = await calibrate(grouped, "--target", "0.05", "--max-keep", "5");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("422 target_unreachable: guards put target drop rate 5 % out of reach");
    expect(r.stderr).toContain(
      "--max-keep 5 drops more than the target at every threshold (reachable targets on these queries are above 74.9 % and up to 99.9 %): raise --max-keep (or the target)",
    );
    const doc = JSON.parse((await calibrate(grouped, "--target", "0.05", "--max-keep", "5", "--json")).stdout);
    expect(doc.exit_code).toBe(2);
    expect(doc.error).toMatchObject({ code: "target_unreachable", source: "server", status: 422, details: refusal.error.details });
  });

  it("target_unreachable from min_keep names it and says to lower it", async () => {
    const refusal = responses.targetUnreachableGuards();
    const details = { n: 1000, target: 0.9, bound: "min_keep", min_keep: 10, max_keep: null, lowest_target: 0, highest_target: 0.4995 };
    stub.handle(() => ({ status: 422, body: { error: { ...refusal.error, message: "guards put target drop rate 90 % out of reach", details } } }));
    const r = await calibrate(grouped, "--target", "0.9", "--min-keep", "10");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "--min-keep 10 keeps too much for the target (reachable targets on these queries are above 0.0 % and up to 50.0 % (or 0)): lower --min-keep (or the target)",
    );
  });

  it("scores saturated at the minimum: the hint names the lowest target above the tie, and never says to lower --target", async () => {
    const details = { n: 200, target: 0.3, ties_at_minimum: 60, minimum: 0, lowest_target: 100 / 201 };
    const message = "no threshold drops any candidate it decides: the 60 lowest of them all equal 0";
    stub.handle(() => ({ status: 422, body: { error: { code: "target_unreachable", message, details } } }));
    const r = await calibrate(grouped, "--target", "0.3", "--max-keep", "8");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("check the score column (--score-column), or ask for more than 49.8 % (what the tie drops, with the cap's share)");
    expect(r.stderr).not.toContain("lower --target");
  });

  it("an abstention rate the queries cannot reach, and too few queries for it, speak of queries and --abstain-rate", async () => {
    const tied = { n: 40, target: 0.1, ties_at_minimum: 12, unit: "queries" };
    stub.handle(() => ({
      status: 422,
      body: { error: { code: "target_unreachable", message: "no abstain_below makes any query abstain", details: tied } },
    }));
    const r = await calibrate(grouped, "--target", "0.3", "--abstain-rate", "0.1");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no cutoff makes any query abstain: leave out --abstain-rate");
    const few = { n: 10, k: 11, target: 0.5, minimum_n: 19, unit: "queries" };
    stub.handle(() => ({
      status: 422,
      body: { error: { code: "too_few_scores", message: "abstention rate 50 % needs at least 19 queries", details: few } },
    }));
    const f = await calibrate(grouped, "--target", "0.3", "--abstain-rate", "0.5");
    expect(f.code).toBe(2);
    expect(f.stderr).toContain(
      "an abstention rate of 50.0 % needs at least 19 queries, the file has 10: lower --abstain-rate or upload more queries",
    );
  });

  it("too_few_answerable_queries (a labelled upload's alpha) reads as what it needs", async () => {
    const details = { answerable_queries: 8, unanswerable_queries: 4, minimum_queries: 19, alpha: 0.05 };
    stub.handle(() => ({ status: 422, body: { error: { code: "too_few_answerable_queries", message: "false abstention at most 5 %", details } } }));
    const r = await calibrate(grouped, "--carry", "--abstain-carry");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("a false-abstention level of 5.0 % needs at least 19 answerable queries, the upload has 8 (and 4 unanswerable)");
  });
});
