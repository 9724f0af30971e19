/**
 * `scoregate calibrate --recall` and `--answerable-column` against the local worker (workerd through Miniflare, started
 * once for this file; the CLI runs in-process, so nothing is built): a recall gate fitted on graded labels with
 * --relevant-at, with queries that have no relevant candidate and scores tied at two decimals, whose printed guarantee
 * is the rank rule's; answerable flags that change what false abstention is measured on; too few labelled queries;
 * `monitor` printing the coverage test of a recall gate whose judged queries' coverage fell.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createRng } from "../../../test/support/prng";
import { cli } from "./support/run";
import { liveFixture } from "./support/worker";

const { dir, worker, env } = liveFixture("scoregate-cli-recall-live-");
const gateArgs = (embedding: string, version: string) => ["--embedding", embedding, "--reranker", "bge-reranker-v2-m3", "--index-version", version];

/** Queries this many, of 10 candidates each; this many of them (the first) with a relevant candidate. */
const QUERIES = 240;
const WITH_RELEVANT = 200;

/**
 * A CSV of graded labels 0-3 (relevant at 2): a query with a relevant candidate has one graded 3 (and every third one
 * a second graded 2), scored higher; the others have grades 0 and 1 only. Scores have two decimals, so many tie. The
 * answerable column says yes for the first 220 queries: 20 queries without a relevant candidate are still answerable.
 */
function gradedCsv(name: string, seed: number, nQueries = QUERIES): { path: string; maxRelevant: number[] } {
  const rng = createRng(seed);
  const rows = ["query_id,doc,score,grade,answerable"];
  const maxRelevant: number[] = [];
  for (let q = 0; q < nQueries; q++) {
    const hasRelevant = q < WITH_RELEVANT;
    let best = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < 10; j++) {
      const grade = hasRelevant && j === 0 ? 3 : hasRelevant && j === 1 && q % 3 === 0 ? 2 : j % 2;
      const score = Math.round(100 / (1 + Math.exp(-(rng.normal() + (grade >= 2 ? 1.5 : -0.5))))) / 100;
      if (grade >= 2) best = Math.max(best, score);
      rows.push(`query-${q},doc-${j},${score},${grade},${q < 220 ? "Yes" : "no"}`);
    }
    if (hasRelevant) maxRelevant.push(best);
  }
  const path = join(dir, name);
  writeFileSync(path, `${rows.join("\n")}\n`);
  return { path, maxRelevant };
}

interface RecallOut {
  exit_code: number;
  calibration: {
    id: string;
    threshold: number;
    policy: { kind: string; target: number; coverage: string };
    labels: { queries: number; labelled_queries: number; queries_without_relevant: number; relevant_at: number };
    recall: { n: number; k: number; coverage_bound: number; ties_at_threshold?: number; in_sample_coverage: number };
    abstention: { mode: string; answerable_queries: number; unanswerable_queries: number } | null;
  };
  upload: { answerable_column: string | null };
}

describe("a recall gate against the local worker", () => {
  it("graded labels with --relevant-at, queries without a relevant candidate, ties: the rank rule's threshold and its guarantee printed", async () => {
    const { path, maxRelevant } = gradedCsv("graded.csv", 31);
    const args = ["calibrate", path, ...gateArgs("e5-recall", "v1"), "--recall", "0.9", "--label-column", "grade", "--relevant-at", "2"];
    const out = JSON.parse((await cli([...args, "--dry-run", "--json"], env())).stdout) as RecallOut;
    const cal = out.calibration;
    expect(out.exit_code).toBe(0);
    expect(cal.policy).toEqual({ kind: "recall", target: 0.9, coverage: "any_relevant" });
    expect(cal.labels).toMatchObject({ queries: QUERIES, labelled_queries: WITH_RELEVANT, queries_without_relevant: 40, relevant_at: 2 });
    // any_relevant: the k-th smallest of the queries' best relevant scores, k = floor((n+1)(1-r)) (docs/methods.md)
    const k = Math.floor((WITH_RELEVANT + 1) * (1 - 0.9));
    expect(cal.recall.k).toBe(k);
    expect(cal.threshold).toBe(Float64Array.from(maxRelevant).sort()[k - 1]);
    expect(cal.recall.coverage_bound).toBeCloseTo(1 - k / (WITH_RELEVANT + 1), 12);
    // two decimals: the best relevant scores tie at the threshold, and the gate keeps the tied ones
    expect(cal.recall.ties_at_threshold).toBeGreaterThan(1);
    expect(cal.recall.in_sample_coverage).toBe(maxRelevant.filter((s) => s >= cal.threshold).length / WITH_RELEVANT);

    const r = await cli(args, env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `  recall      guaranteed: at least one relevant candidate kept for at least ${(100 * cal.recall.coverage_bound).toFixed(1)} % of fresh queries (target 90.0 %, any_relevant; 200 labelled queries, rank ${k} of 200)\n`,
    );
    expect(r.stdout).toMatch(
      /\n {14}this gate: coverage expected \d+\.\d % \(95 %: \d+\.\d % to \d+\.\d %\), in sample \d+\.\d %; \d+\.\d % of all relevant/u,
    );
    expect(r.stdout).toMatch(/\n {14}\d+ labelled queries tie at the threshold/u);
    expect(r.stdout).toMatch(/\n {2}tradeoff {4}recall .*90\.0 % drops \d+\.\d % at /u);
    expect(r.stdout).toContain("40 of 240 labelled queries have no relevant candidate");
    const served = await cli(["threshold", "--embedding", "e5-recall", "--reranker", "bge-reranker-v2-m3"], env("dev-read"));
    expect(served.stdout).toContain("policy recall 90.0 % (any_relevant)");
  });

  it("--answerable-column: false abstention is measured on the queries the column calls answerable, not on those with a relevant candidate", async () => {
    const { path } = gradedCsv("answerable.csv", 32);
    const base = ["calibrate", path, ...gateArgs("e5-answerable", "v1"), "--recall", "0.9", "--coverage", "all_relevant", "--min-keep", "1"];
    const labels = ["--label-column", "grade", "--relevant-at", "2", "--abstain-alpha", "0.1", "--dry-run", "--json"];
    const derived = JSON.parse((await cli([...base, ...labels], env())).stdout) as RecallOut;
    expect(derived.calibration.abstention).toMatchObject({ mode: "false_abstention", answerable_queries: 200, unanswerable_queries: 40 });
    const r = await cli([...base, ...labels, "--answerable-column", "answerable"], env());
    expect(r.stderr).toBe("");
    const flagged = JSON.parse(r.stdout) as RecallOut;
    expect(flagged.calibration.abstention).toMatchObject({ mode: "false_abstention", answerable_queries: 220, unanswerable_queries: 20 });
    expect(flagged.calibration.policy).toMatchObject({ kind: "recall", coverage: "all_relevant", min_keep: 1 });
    expect(flagged.upload.answerable_column).toBe("answerable");

    // Without relevance labels the flags alone say which queries are answerable (a drop-rate gate, no labels sent).
    const flagsOnly = await cli(
      [
        "calibrate",
        path,
        ...gateArgs("e5-answerable-flags", "v1"),
        "--target",
        "0.3",
        "--abstain-alpha",
        "0.1",
        "--answerable-column",
        "answerable",
        "--dry-run",
        "--json",
      ],
      env(),
    );
    expect(flagsOnly.stderr).toBe("");
    const flagOut = JSON.parse(flagsOnly.stdout) as RecallOut;
    expect(flagOut.calibration.abstention).toMatchObject({ mode: "false_abstention", answerable_queries: 220, unanswerable_queries: 20 });
    expect(flagOut.calibration.labels).toBeNull();
  });

  it("too few labelled queries for the target: exit 2 with how many it needs, nothing stored", async () => {
    const { path } = gradedCsv("few.csv", 33, 30);
    const r = await cli(
      ["calibrate", path, ...gateArgs("e5-recall-few", "v1"), "--recall", "0.99", "--label-column", "grade", "--relevant-at", "2"],
      env(),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("422 too_few_labelled_queries");
    expect(r.stderr).toContain(
      "a recall target of 99.0 % (any_relevant) needs at least 99 labelled queries with a relevant candidate, the upload has 30",
    );
    const gates = await cli(["gates", "--json"], env("dev-read"));
    expect(gates.stdout).not.toContain("e5-recall-few");
  });

  it("monitor: the coverage test of a gate whose judged queries' coverage fell, with the alarmed test's numbers", async () => {
    const { path } = gradedCsv("monitored.csv", 34);
    const gate = ["--embedding", "e5-recall-monitor", "--reranker", "bge-reranker-v2-m3"];
    const up = await cli(
      ["calibrate", path, ...gate, "--index-version", "v1", "--recall", "0.9", "--label-column", "grade", "--relevant-at", "2", "--json"],
      env(),
    );
    const cal = (JSON.parse(up.stdout) as RecallOut).calibration;
    // a judged query is covered when its relevant candidate (label 1) is kept: scored above the threshold or below it
    const judged = (covered: number, uncovered: number) => [
      ...Array.from({ length: covered }, () => ({ scores: [cal.threshold + 0.01, 0.01], relevance: [1, 0] })),
      ...Array.from({ length: uncovered }, () => ({ scores: [cal.threshold - 0.01, 0.01], relevance: [1, 0] })),
    ];
    const judge = async (batch_id: string, queries: unknown[]) => {
      const res = await fetch(new URL("/v1/judgments", worker().url), {
        method: "POST",
        headers: { Authorization: "Bearer dev-read", "Content-Type": "application/json" },
        body: JSON.stringify({ batch_id, calibration_id: cal.id, queries }),
      });
      expect(res.status).toBe(202);
      return (await res.json()) as { alerts: string[] };
    };
    await judge("healthy", judged(10, 0));
    expect((await judge("fall", judged(8, 32))).alerts).toHaveLength(1);
    await judge("after", judged(4, 0));

    const r = await cli(["monitor", ...gate], env("dev-read"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Gate \S+ \/ \S+ \/ \S+ \(gate [0-9a-f]+\): drift state alarm since \S+: recall_drift \(alr_\S+\)\n/u);
    expect(r.stdout).toContain("\nCoverage tests (recall, on judged queries; each restarts at its alarm):\n");
    expect(r.stdout).toMatch(
      /\n {2}active {5}cal_\S+ \(v1\): guaranteed \d+\.\d % \(target 90\.0 %, any_relevant\), tolerated down to \d+\.\d %, 1 alarm\(s\)\n/u,
    );
    expect(r.stdout).toMatch(
      /\n {13}alarmed at \S+: coverage 36\.0 % over 50 judged queries since \S+ \(95 %: \d+\.\d % to \d+\.\d %\), evidence ln E \d+\.\d of \d+\.\d; the test restarted then\n/u,
    );
    expect(r.stdout).toMatch(
      /\n {13}since \S+: coverage 100\.0 % over 4 judged queries \(95 %: \d+\.\d % to 100\.0 %\), evidence ln E -?\d+\.\d of \d+\.\d, watching\n/u,
    );
  });
});
