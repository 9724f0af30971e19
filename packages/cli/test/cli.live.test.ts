/**
 * The CLI against the local worker (workerd through Miniflare, started once for this file): files with and without
 * query groups, CRLF, stdin, a 1,000,000-score file, each exit code the server can cause, guards and abstention, and the
 * other commands (a stored calibration through shadow, promote, its overrides and its rollback, with watch printing it),
 * and `monitor` printing a window's unscored candidates and the unscored_candidates alert.
 * The bin itself (`npx scoregate` from the repository root, built first with the SDK it imports, as `npm run build:cli` builds them) runs once as
 * a child process.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { createRng } from "../../../test/support/prng";
import { type Io, run } from "../src/main";
import { cli } from "./support/run";
import { liveFixture, ROOT } from "./support/worker";

// the bin and the SDK's dist run in child processes here (npx scoregate, examples/upgrade-replay): built first
const { dir, worker, env } = liveFixture("scoregate-cli-live-", { bin: true });

/** Per-query reranker-like scores: a query-level offset plus candidate noise, through a logistic. */
function queries(seed: number, nQueries: number, perQuery: number, shift = 0): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: nQueries }, () => {
    const offset = 0.7 * rng.normal() + shift;
    return Array.from({ length: perQuery }, () => 1 / (1 + Math.exp(-(offset + rng.normal() - 0.5))));
  });
}
/** A CSV of the queries; with `;`, as a decimal-comma locale's spreadsheet saves it (`;` between fields, `0,734`). */
function csv(name: string, qs: number[][], eol = "\n", sep = ","): string {
  const p = join(dir, name);
  const rows = [["query_id", "doc_id", "score"].join(sep)];
  const num = (x: number): string => (sep === ";" ? String(x).replace(".", ",") : String(x));
  qs.forEach((q, i) => {
    q.forEach((s, j) => {
      rows.push([`query-${i}`, `doc-${j}`, num(s)].join(sep));
    });
  });
  writeFileSync(p, rows.join(eol) + eol);
  return p;
}
/** The k-th smallest with k = ceil((n+1)d): the gate rule of README.md. */
function expectedThreshold(xs: number[], d: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.ceil((s.length + 1) * d) - 1]!;
}
const gateArgs = (embedding: string, version: string) => ["--embedding", embedding, "--reranker", "bge-reranker-v2-m3", "--index-version", version];
const json = <T>(s: string): T => JSON.parse(s) as T;
interface Out {
  calibration: { id: string; threshold: number; n: number; n_queries: number | null; current: boolean };
  shift: { alert: boolean; change_points: number } | null;
  decision: string | null;
  exit_code: number;
  upload: { content_type: string; queries: number | null };
}

describe("scoregate calibrate against the local worker", () => {
  it("flat scores (plain text, no query column): exit 0, the exact k-th smallest at full precision", async () => {
    const flat = queries(1, 400, 20).flat();
    const p = join(dir, "flat.txt");
    writeFileSync(p, `${flat.join("\n")}\n`);
    const r = await cli(["calibrate", p, ...gateArgs("e5-flat", "v1"), "--target", "0.3", "--json"], env());
    expect(r.code).toBe(0);
    const out = json<Out>(r.stdout);
    expect(out.calibration.n).toBe(8000);
    expect(out.calibration.n_queries).toBeNull();
    expect(out.calibration.threshold).toBe(expectedThreshold(flat, 0.3));
    expect(out.decision).toBeNull();
  });

  it("a CSV with a header, a query column and CRLF endings: per-query statistics; the same distribution again is equivalent (exit 0)", async () => {
    // 400 clustered queries a side can show a move is within 5 points, not within the default 2 (that takes thousands).
    const p = csv("v1.csv", queries(2, 400, 20), "\r\n");
    const r1 = await cli(["calibrate", p, ...gateArgs("e5", "v1"), "--target", "0.2"], env());
    expect(r1.code).toBe(0);
    expect(r1.stdout).toContain("8,000 scores in 400 queries");
    expect(r1.stdout).toContain("per query   20.0 candidates");
    expect(r1.stdout).toMatch(/left empty {2}at 1 \/ 2 \/ 3 candidates a query: [\d.]+ % \/ [\d.]+ % \/ [\d.]+ %/);
    const same = csv("v1-again.csv", queries(3, 400, 20));
    const r2 = await cli(["calibrate", same, ...gateArgs("e5", "v1.1"), "--carry", "--shift-tolerance", "0.05", "--json"], env());
    const out = json<Out>(r2.stdout);
    expect(out.shift).not.toBeNull();
    expect(out.decision).toBe("equivalent");
    expect(r2.code).toBe(0);
  });

  it("a rebuild that lowers the scores: --dry-run reports shifted (exit 3), stores nothing and leaves the served threshold alone", async () => {
    const before = await cli(["threshold", "--embedding", "e5", "--reranker", "bge-reranker-v2-m3", "--json"], env("dev-read"));
    expect(before.code).toBe(0);
    const served = json<{ calibration_id: string; threshold: number }>(before.stdout);
    const p = csv("v2.csv", queries(4, 400, 20, -1));
    const r = await cli(["calibrate", p, ...gateArgs("e5", "v2"), "--carry", "0.4", "--dry-run"], env());
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("nothing stored, would not be served");
    expect(r.stdout).toMatch(/Decision: SHIFTED.*-> exit 3/u);
    // the change and its interval in one unit (points): the interval holds the estimate
    const m = /: ([+-]?\d+\.\d) points \(95 %: ([+-]?\d+\.\d) to ([+-]?\d+\.\d) points\)/u.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const [estimate, low, high] = m!.slice(1).map(Number) as [number, number, number];
    expect(estimate).toBeGreaterThan(10);
    expect(low).toBeLessThanOrEqual(estimate);
    expect(high).toBeGreaterThanOrEqual(estimate);
    const after = json<{ calibration_id: string }>(
      (await cli(["threshold", "--embedding", "e5", "--reranker", "bge-reranker-v2-m3", "--json"], env("dev-read"))).stdout,
    );
    expect(after.calibration_id).toBe(served.calibration_id);
    const history = await cli(["history", "--embedding", "e5", "--reranker", "bge-reranker-v2-m3", "--json"], env("dev-read"));
    expect(json<{ calibrations: { index_version: string }[] }>(history.stdout).calibrations.map((c) => c.index_version)).not.toContain("v2");
  });

  it("a small sample with a moderate move is inconclusive: not served, exit 4", async () => {
    const base = csv("small-v1.csv", queries(5, 15, 20));
    expect((await cli(["calibrate", base, ...gateArgs("e5-small", "v1"), "--target", "0.3"], env())).code).toBe(0);
    const moved = csv("small-v2.csv", queries(6, 15, 20, -0.25));
    const loose = await cli(["calibrate", moved, ...gateArgs("e5-small", "v2"), "--carry", "--dry-run", "--json"], env());
    const out = json<Out>(loose.stdout);
    expect(out.shift!.alert).toBe(false);
    expect(Math.abs(out.shift!.change_points)).toBeGreaterThan(2);
    expect(out.decision).toBe("inconclusive");
    expect(loose.code).toBe(4);
    expect(loose.stderr).toBe("");
    const strict = await cli(["calibrate", moved, ...gateArgs("e5-small", "v2"), "--carry", "--dry-run", "--strict"], env());
    expect(strict.code).toBe(4);
  });

  it("a semicolon CSV with decimal commas fits the same threshold as the comma CSV of the same scores", async () => {
    const qs = queries(12, 100, 20);
    const comma = await cli(["calibrate", csv("sep-comma.csv", qs), ...gateArgs("e5-sep", "v1"), "--target", "0.3", "--json"], env());
    const semi = await cli(
      ["calibrate", csv("sep-semicolon.csv", qs, "\r\n", ";"), ...gateArgs("e5-sep-semi", "v1"), "--target", "0.3", "--json"],
      env(),
    );
    expect(semi.code).toBe(0);
    const a = json<Out & { upload: { delimiter: string; decimal_comma: boolean } }>(comma.stdout);
    const b = json<Out & { upload: { delimiter: string; decimal_comma: boolean } }>(semi.stdout);
    expect(b.upload).toMatchObject({ delimiter: ";", decimal_comma: true, queries: 100 });
    expect(b.calibration.threshold).toBe(a.calibration.threshold);
    expect(b.calibration.threshold).toBe(expectedThreshold(qs.flat(), 0.3));
  });

  it("reads stdin (-) as JSONL, one query per line", async () => {
    const qs = queries(7, 50, 10);
    const r = await cli(
      ["calibrate", "-", ...gateArgs("e5-stdin", "v1"), "--target", "0.25", "--json"],
      env(),
      `${qs.map((q) => JSON.stringify(q)).join("\n")}\n`,
    );
    expect(r.code).toBe(0);
    const out = json<Out>(r.stdout);
    expect(out.calibration.n_queries).toBe(50);
    expect(out.calibration.threshold).toBe(expectedThreshold(qs.flat(), 0.25));
  });

  it("a 1,000,000-score CSV with a query column: streamed, uploaded as NDJSON, fitted exactly", async () => {
    const qs = queries(8, 50_000, 20);
    const p = csv("1m.csv", qs);
    const r = await cli(["calibrate", p, ...gateArgs("e5-1m", "v1"), "--target", "0.3", "--json"], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = json<Out>(r.stdout);
    expect(out.calibration.n).toBe(1_000_000);
    expect(out.calibration.n_queries).toBe(50_000);
    expect(out.upload.content_type).toBe("application/x-ndjson");
    expect(out.calibration.threshold).toBe(expectedThreshold(qs.flat(), 0.3));
  }, 120_000);

  it("a carry across a model change (a new gate from the old gate's calibration id) that shifts is served: exit 0, 'shifted as intended'", async () => {
    const served = json<{ calibration_id: string }>(
      (await cli(["threshold", "--embedding", "e5", "--reranker", "bge-reranker-v2-m3", "--json"], env("dev-read"))).stdout,
    );
    const p = csv("upgrade.csv", queries(4, 400, 20, -1));
    const r = await cli(["calibrate", p, ...gateArgs("e5-next", "v1"), "--carry", "0.4", "--reference", served.calibration_id], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\nDecision: shifted as intended (a carry across a model change: first calibration of this gate, served) -> exit 0");
  });

  it("the server's 4xx exit 2 with what to do: a read token, and --carry on a gate with nothing to carry from", async () => {
    const p = csv("four.csv", queries(9, 20, 5));
    const read = await cli(["calibrate", p, ...gateArgs("e5-4xx", "v1"), "--target", "0.2"], env("dev-read"));
    expect(read.code).toBe(2);
    expect(read.stderr).toContain("403 forbidden");
    expect(read.stderr).toContain("dev-calibrate");
    const carry = await cli(["calibrate", p, ...gateArgs("e5-4xx", "v1"), "--carry", "0.4"], env());
    expect(carry.code).toBe(2);
    expect(carry.stderr).toContain("422 unknown_reference");
    expect(carry.stderr).not.toContain('{"calibration_id"');
    expect(carry.stderr).toContain("--reference cal_...");
    // a mistyped embedding ("e6" for the calibrated "e5"): the server's suggestion as flags, not the other e5-* gates
    const typo = await cli(["calibrate", p, ...gateArgs("e6", "v1"), "--carry"], env());
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      "  calibrated gates with similar names, as flags:\n    --index default --embedding e5 --reranker bge-reranker-v2-m3\n  --carry carries",
    );
    const tooFew = await cli(["calibrate", p, ...gateArgs("e5-4xx", "v1"), "--target", "0.999"], env());
    expect(tooFew.code).toBe(2);
    expect(tooFew.stderr).toContain("lower --target or upload more scores");
  });
});

describe("guards and abstention against the local worker", () => {
  /** Queries of 1 to 20 candidates: min_keep binds on the short ones, max_keep on the long ones. */
  const sized = (seed: number) => queries(seed, 300, 20).map((q, i) => q.slice(0, 1 + (i % 20)));
  interface Guarded extends Out {
    calibration: Out["calibration"] & {
      guards: { min_keep: number; max_keep: number | null; min_keep_binding_rate: number } | null;
      abstain_below: number | null;
      abstention: { mode: string; expected_rate: number; carry: { reference_calibration_id: string } | null } | null;
      per_query: { empty_context_rate: number; empty_context_level?: number };
    };
  }

  it("a guarded, abstaining calibrate: the fitted guards and abstention in the summary and served; a carry keeps the guards and carries the abstention", async () => {
    const v1 = csv("guard-v1.csv", sized(20));
    const flags = ["--target", "0.3", "--min-keep", "3", "--max-keep", "15", "--abstain-rate", "0.05"];
    const r = await cli(["calibrate", v1, ...gateArgs("e5-guard", "v1"), ...flags], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /\n {2}guards {6}keep at least 3, at most 15 candidates per query: min_keep binds on \d+\.\d % of queries, max_keep on \d+\.\d %\n/u,
    );
    expect(r.stdout).toMatch(/\n {14}the bare threshold \(score >= threshold alone\) would drop \d+\.\d %\n/u);
    expect(r.stdout).toMatch(
      /\n {2}abstention {2}a query keeps nothing when its top score is below [\d.]+: expected \d+\.\d % of queries \(95 %: [\d.]+ % to [\d.]+ %\), target 5\.0 %\n/u,
    );
    expect(r.stdout).toMatch(
      /per query .* kept, min_keep binds on \d+\.\d % \(the threshold alone keeps fewer than min\(3, candidates\); never empty\)/u,
    );
    expect(r.stdout).not.toContain("left empty");
    // the same upload as JSON (a dry run: nothing stored): the per-query rate the summary names is the guard's binding rate
    const dry = json<Guarded>((await cli(["calibrate", v1, ...gateArgs("e5-guard", "v1"), ...flags, "--dry-run", "--json"], env())).stdout);
    expect(dry.calibration.per_query.empty_context_level).toBe(3);
    expect(dry.calibration.per_query.empty_context_rate).toBe(dry.calibration.guards!.min_keep_binding_rate);
    expect(dry.calibration.abstention!.mode).toBe("rate");

    const served = await cli(["threshold", "--embedding", "e5-guard", "--reranker", "bge-reranker-v2-m3"], env("dev-read"));
    expect(served.stdout).toContain("  guards        keep at least 3, at most 15 candidates per query");
    expect(served.stdout).toMatch(/ {2}abstention {4}a query abstains when its top score is below [\d.]+/u);

    // a carry that states no guards keeps the reference's; --abstain-carry carries its abstention rate
    const v2 = csv("guard-v2.csv", sized(21));
    const c = await cli(["calibrate", v2, ...gateArgs("e5-guard", "v2"), "--carry", "--abstain-carry", "--dry-run", "--json"], env());
    const out = json<Guarded>(c.stdout);
    expect(c.code).toBe(out.exit_code);
    expect(out.calibration.guards).toMatchObject({ min_keep: 3, max_keep: 15 });
    expect(out.calibration.abstention!.mode).toBe("carry");
    const active = json<{ calibration_id: string }>(
      (await cli(["threshold", "--embedding", "e5-guard", "--reranker", "bge-reranker-v2-m3", "--json"], env("dev-read"))).stdout,
    );
    expect(out.calibration.abstention!.carry!.reference_calibration_id).toBe(active.calibration_id);
  });

  it("labels from a CSV column: --abstain-alpha fits a false-abstention guarantee on the answerable queries", async () => {
    // 200 queries of 10: the 140 answerable ones hold one relevant candidate scored higher, the 60 others none
    const rng = createRng(23);
    const rows = ["query_id,score,relevance"];
    for (let q = 0; q < 200; q++) {
      const answerable = q % 10 < 7;
      for (let j = 0; j < 10; j++) {
        const relevant = answerable && j === 0;
        rows.push(`q${q},${1 / (1 + Math.exp(-(rng.normal() + (relevant ? 2 : answerable ? 0 : -0.5))))},${relevant ? 1 : 0}`);
      }
    }
    const p = join(dir, "labelled.csv");
    writeFileSync(p, `${rows.join("\n")}\n`);
    const args = [...gateArgs("e5-labels", "v1"), "--target", "0.3", "--min-keep", "1", "--label-column", "relevance", "--abstain-alpha", "0.1"];
    const r = await cli(["calibrate", p, ...args], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(csv, score column "score", query column "query_id", label column "relevance")');
    // the abstaining queries count: they keep nothing (at most about alpha of the answerable ones abstain)
    const kept =
      /\n {2}labels {6}140 of 200 queries have a relevant candidate; the gate keeps one for (\d+\.\d) % of them, all for \d+\.\d %, counting the queries that abstain \(without abstention: (\d+\.\d) %, \d+\.\d %\)\n/u.exec(
        r.stdout,
      );
    expect(kept).not.toBeNull();
    expect(Number(kept![1])).toBeLessThan(Number(kept![2]));
    expect(Number(kept![2]) - Number(kept![1])).toBeLessThan(20);
    expect(r.stdout).toMatch(
      /\n {2}abstention {2}a query keeps nothing when its top score is below [\d.]+: expected \d+\.\d % of queries .*; answerable queries abstain with probability at most \d+\.\d % \(alpha 10\.0 %\), catches \d+\.\d % of unanswerable queries \(95 %: /u,
    );
    const out = json<{ calibration: { abstention: { mode: string; alpha: number; answerable_queries: number; false_abstention_bound: number } } }>(
      (await cli(["calibrate", p, ...args, "--dry-run", "--json"], env())).stdout,
    );
    expect(out.calibration.abstention).toMatchObject({ mode: "false_abstention", alpha: 0.1, answerable_queries: 140 });
    expect(out.calibration.abstention.false_abstention_bound).toBeLessThanOrEqual(0.1);
  });

  it("guards that put the target out of reach: exit 2 with the reachable targets; guards on flat scores: exit 2, nothing sent", async () => {
    const p = csv("guard-unreachable.csv", queries(22, 50, 20));
    const r = await cli(["calibrate", p, ...gateArgs("e5-guard-bad", "v1"), "--target", "0.05", "--max-keep", "5"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("422 target_unreachable");
    expect(r.stderr).toMatch(
      /--max-keep 5 drops more than the target at every threshold \(reachable targets on these queries are above 7\d\.\d % and up to/u,
    );
    const flat = join(dir, "guard-flat.txt");
    writeFileSync(flat, `${queries(22, 50, 20).flat().join("\n")}\n`);
    const f = await cli(["calibrate", flat, ...gateArgs("e5-guard-bad", "v1"), "--target", "0.2", "--min-keep", "2"], env());
    expect(f.code).toBe(2);
    expect(f.stderr).toContain("--min-keep needs queries");
    const gates = await cli(["gates", "--json"], env("dev-read"));
    expect(gates.stdout).not.toContain("e5-guard-bad");
  });
});

describe("the other commands against the local worker", () => {
  it("gates, history, activate (roll back), threshold and alerts", async () => {
    const v1 = csv("cmd-v1.csv", queries(10, 100, 20));
    const v2 = csv("cmd-v2.csv", queries(11, 100, 20, -1));
    const first = json<Out>((await cli(["calibrate", v1, ...gateArgs("e5-cmd", "v1"), "--target", "0.2", "--json"], env())).stdout);
    const second = await cli(["calibrate", v2, ...gateArgs("e5-cmd", "v2"), "--carry", "0.5", "--json"], env());
    expect(second.code).toBe(3); // shifted: stored, not served; promoting it after review raises rebuild_shift
    // A dry run first: what the activation would give, nothing changed (no alert below until the real one).
    const preview = await cli(["activate", json<Out>(second.stdout).calibration.id, "--dry-run"], env("dev-admin"));
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(
      /^Dry run: activating cal_\w+ \(default \/ e5-cmd \/ bge-reranker-v2-m3, index version v2\) would serve threshold [\d.]+ \(expected drop [\d.]+ %\); nothing was changed\n/u,
    );
    // v2 carries what 0.5 dropped of v1 (two thirds) where the gate serves 20 %: the warning says so before the shift.
    expect(preview.stdout).toContain("this activation changes what the gate drops");
    expect(preview.stdout).toContain(`compared with ${first.calibration.id}, the gate's current calibration`);
    expect(preview.stdout).toMatch(/\n {2}shift: .*shifted/u);
    const stillV1 = await cli(["threshold", "--embedding", "e5-cmd", "--reranker", "bge-reranker-v2-m3", "--json"], env("dev-read"));
    expect(json<{ calibration_id: string }>(stillV1.stdout).calibration_id).toBe(first.calibration.id);
    const promoted = await cli(["activate", json<Out>(second.stdout).calibration.id, "--reason", "reviewed"], env("dev-admin"));
    expect(promoted.code).toBe(0);
    // the alert it raised is named, for on-call to find
    expect(promoted.stdout).toMatch(/\n {2}rebuild_shift alert alr_\w+ raised or counted again \(scoregate alerts --status open lists it\)/u);

    const gates = await cli(["gates"], env("dev-read"));
    expect(gates.code).toBe(0);
    expect(gates.stdout).toContain("default / e5-cmd / bge-reranker-v2-m3");

    const history = await cli(["history", "--embedding", "e5-cmd", "--reranker", "bge-reranker-v2-m3", "--json"], env("dev-read"));
    const h = json<{ calibrations: { id: string }[] }>(history.stdout);
    expect(h.calibrations).toHaveLength(2);
    expect(h.calibrations[1]!.id).toBe(first.calibration.id);

    const alerts = await cli(["alerts", "--kind", "rebuild_shift", "--embedding", "e5-cmd", "--reranker", "bge-reranker-v2-m3"], env("dev-read"));
    expect(alerts.code).toBe(0);
    expect(alerts.stdout).toContain("rebuild_shift");

    const noAdmin = await cli(["activate", first.calibration.id], env());
    expect(noAdmin.code).toBe(2);
    expect(noAdmin.stderr).toContain("admin");
    const rollback = await cli(["activate", first.calibration.id, "--reason", "v2 hurt recall"], env("dev-admin"));
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain(`Activated ${first.calibration.id}`);
    expect(rollback.stdout).toContain("v2 hurt recall");
    // Activating it again changes nothing and says so (no second row in the history, no event).
    const again = await cli(["activate", first.calibration.id, "--reason", "again"], env("dev-admin"));
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^cal_\w+ \(default \/ e5-cmd \/ bge-reranker-v2-m3, index version v1\) is already the gate's current calibration \(threshold [\d.]+\); nothing was recorded or changed\n?$/u,
    );
    const log = json<{ activations: unknown[] }>(
      (await cli(["history", "--embedding", "e5-cmd", "--reranker", "bge-reranker-v2-m3", "--json"], env("dev-read"))).stdout,
    );
    expect(log.activations).toHaveLength(3);

    // After the rollback: v1 is served and active for v1; v2 stays its version's active calibration (a pin on v2 reads it).
    const human = await cli(["history", "--embedding", "e5-cmd", "--reranker", "bge-reranker-v2-m3"], env("dev-read"));
    const rows = human.stdout.split("\n");
    expect(rows.find((r) => r.includes(first.calibration.id))).toMatch(/\[current, active\]$/u);
    expect(rows.find((r) => r.includes(json<Out>(second.stdout).calibration.id))).toMatch(/\[active\] {2}shift alert alr_\w+$/u);
    expect(rows).toContain("  [current]: what the gate serves; [active]: what a request pinned to that index_version reads");
    const t = await cli(["threshold", "--embedding", "e5-cmd", "--reranker", "bge-reranker-v2-m3"], env("dev-read"));
    expect(t.code).toBe(0);
    // four significant digits for a person, the exact value on the next line when they differ
    const exact = first.calibration.threshold;
    expect(t.stdout.split("\n")[0]).toBe(String(Number(exact.toPrecision(4))));
    if (String(Number(exact.toPrecision(4))) !== String(exact)) expect(t.stdout).toContain(`exact         ${exact}`);
    expect(t.stdout).toContain(first.calibration.id);

    const unknown = await cli(["threshold", "--embedding", "nope", "--reranker", "nope"], env("dev-read"));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("404 uncalibrated");
    expect(unknown.stderr).toContain("scoregate gates");
    // alerts of a mistyped gate are not "No alerts." (an all-clear): 404, with the gate it may mean as flags
    const typo = await cli(["alerts", "--embedding", "e5-cnd", "--reranker", "bge-reranker-v2-m3"], env("dev-read"));
    expect([typo.code, typo.stdout]).toEqual([2, ""]);
    expect(typo.stderr).toContain("--embedding e5-cmd");
    expect(typo.stderr).toContain("no such gate: check --index, --embedding and --reranker (scoregate gates lists the gates)");
  });

  it("shadow, promote with a plan, promotion, the overrides and watch: a stored v2 through its promotion, with exit codes and printed lines", async () => {
    const gate = ["--embedding", "e5-prm", "--reranker", "bge-reranker-v2-m3"];
    const v1 = json<Out>(
      (await cli(["calibrate", csv("prm-v1.csv", queries(30, 100, 10)), ...gateArgs("e5-prm", "v1"), "--target", "0.2", "--json"], env())).stdout,
    );
    expect(v1.exit_code).toBe(0);
    // the rebuild moved the old threshold's drop rate: stored, not served (exit 3), the state a promotion starts from
    const stored = await cli(
      ["calibrate", csv("prm-v2.csv", queries(31, 100, 10, -1)), ...gateArgs("e5-prm", "v2"), "--carry", "0.5", "--json"],
      env(),
    );
    expect(stored.code).toBe(3);
    const v2 = json<Out>(stored.stdout).calibration.id;

    // watch the gate while it changes: each event one line, until interrupted (exit 0)
    const watched = { stdout: "", stderr: "" };
    const interrupt = new AbortController();
    const io: Io = {
      stdout: { write: (x: string) => (watched.stdout += x) },
      stderr: { write: (x: string) => (watched.stderr += x), isTTY: false },
      env: env("dev-read"),
      signal: interrupt.signal,
    };
    const watching = run(["watch", ...gate], io);
    await vi.waitFor(() => expect(watched.stdout).toContain(v1.calibration.id), { timeout: 10_000, interval: 20 });

    const shadow = await cli(["shadow", v2, "--sample-rate", "0.2"], env("dev-admin"));
    expect(shadow.stderr).toBe(`${v2} put in shadow on its gate at 20.0 % of queries\n`);
    expect(shadow.stdout).toContain(`Shadow ${v2} (index version v2), 20.0 % of queries mirrored since`);
    expect(shadow.stdout).toMatch(/^ {2}vs active {5}.*, tolerance \d+\.\d points, 0 queries/mu);
    expect(shadow.code).toBe(4); // no mirrored queries yet: not decided
    const rate = await cli(["shadow", v2, "--sample-rate", "0.5"], env("dev-admin"));
    expect(rate.code).toBe(4);
    expect(rate.stdout).toContain("50.0 % of queries mirrored");
    expect(rate.stderr).toBe(`${v2}'s sample rate changed from 20.0 % to 50.0 % of queries; its evidence so far is kept\n`);
    // the same command again changes nothing, and says so (the status alone read as if it had)
    const rerun = await cli(["shadow", v2, "--sample-rate", "0.5"], env("dev-admin"));
    expect(rerun.code).toBe(4);
    expect(rerun.stderr).toBe(`${v2} is already in shadow at 50.0 % of queries: nothing changed\n`);
    // on an existing shadow without a new rate, shadow reads its evaluation: a read token does
    const read = await cli(["shadow", v2], env("dev-read"));
    expect(read.code).toBe(4);
    expect(read.stdout).toContain("50.0 % of queries mirrored");
    // the served threshold names the shadow (never served)
    expect((await cli(["threshold", ...gate], env("dev-read"))).stdout).toMatch(
      new RegExp(
        `^ {2}shadow {8}${v2} \\(index version v2\\), 50\\.0 % of queries mirrored, threshold [\\d.]+, expected drop [\\d.]+ %; never served$`,
        "mu",
      ),
    );

    const plan = ["--steps", "10,50,100", "--min-queries", "200", "--on-regression", "pause", "--tolerance", "0.03", "--reason", "canary"];
    expect((await cli(["promote", v2, ...plan], env())).code).toBe(2);
    const promoted = await cli(["promote", v2, ...plan], env("dev-admin"));
    expect(promoted.stderr).toBe("");
    expect(promoted.code).toBe(0);
    const headline = new RegExp(
      `^Promotion (prm_\\w+): ${v2} over ${v1.calibration.id}, running, step 1 of 3 \\(10 % of keyed traffic on the candidate\\)$`,
      "mu",
    );
    expect(promoted.stdout).toMatch(headline);
    const prm = headline.exec(promoted.stdout)![1]!;
    expect(promoted.stdout).toContain(
      "  plan          steps 10 -> 50 -> 100 %, at least 200 candidate queries a step, tolerance 3.0 points, on regression pause",
    );
    expect(promoted.stdout).toContain(
      "  evidence      candidate 0 queries (drop -), control 0 (drop -); vs control inconclusive, vs target inconclusive",
    );
    expect(promoted.stdout).toMatch(/Z {2}started {6}10 % {2}admin by dev-admin: canary$/mu);

    // read back by its id and by the calibration it promotes, as a reader
    const byId = await cli(["promotion", prm], env("dev-read"));
    expect(byId.code).toBe(0);
    expect(byId.stdout).toMatch(headline);
    expect((await cli(["promotion", v2, "--json"], env("dev-read"))).stdout).toContain(`"id":"${prm}"`);
    const split = await cli(["threshold", ...gate], env("dev-read"));
    expect(split.stdout).toContain(v1.calibration.id);
    // the split as the server serves it: the candidate's share and its own threshold, after the control's lines
    expect(split.stdout).toMatch(
      new RegExp(`^ {2}promotion {5}${prm} running, step 1: 10\\.0 % of keyed requests are served the candidate below;`, "mu"),
    );
    expect(split.stdout).toMatch(new RegExp(`^ {4}candidate {3}${v2} \\(index version v2\\): threshold [\\d.]+, expected drop [\\d.]+ %$`, "mu"));
    const listed = await cli(["gates"], env("dev-read"));
    expect(listed.stdout).toMatch(
      new RegExp(`^ {2}promotion {4}${prm} running, step 1: 10\\.0 % of keyed requests on ${v2} \\(index version v2\\)`, "mu"),
    );

    const paused = await cli(["promote", v2, "--pause", "--reason", "look first"], env("dev-admin"));
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(`Promotion ${prm}: ${v2} over ${v1.calibration.id}, paused`);
    const rolledBack = await cli(["promote", v2, "--rollback", "--reason", "not now"], env("dev-admin"));
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.stdout).toContain(`Promotion ${prm}: ${v2} over ${v1.calibration.id}, rolled_back`);
    const closed = await cli(["promote", v2, "--resume"], env("dev-admin"));
    expect(closed.code).toBe(2);
    expect(closed.stderr).toContain(`${v2} has no running or paused promotion (its latest, ${prm}, is rolled_back)`);

    await vi.waitFor(() => expect(watched.stdout).toMatch(/promotion_rolled_back/u), { timeout: 10_000, interval: 20 });
    interrupt.abort();
    expect(await watching).toBe(0);
    const kinds = watched.stdout
      .split("\n")
      .filter((l) => /^\d+ /u.test(l))
      .map((l) => l.split(/\s+/u)[1]);
    expect(kinds).toEqual(
      expect.arrayContaining(["shadow_added", "shadow_changed", "promotion_started", "promotion_paused", "promotion_rolled_back"]),
    );
    expect(watched.stdout).toContain(`shadow ${v2} added, 20.0 % of queries mirrored; serving ${v1.calibration.id}`);
    expect(watched.stderr).toBe("");
  }, 60_000);

  it("npx scoregate works from the repository root (the built bin, linked by npm)", () => {
    const r = spawnSync("npx", ["scoregate", "gates", "--json"], { cwd: ROOT, env: { ...process.env, ...env("dev-read") }, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(json<{ gates: unknown[] }>(r.stdout).gates.length).toBeGreaterThan(0);
  }, 60_000);

  /**
   * Runs the built bin with `argv` against a server that takes every request and never answers, sends `signal` once a
   * request is out (without it the CLI would wait out its timeout), and gives the exit code and stderr.
   */
  const interruptedWhileWaiting = async (argv: readonly string[], token: string, signal: "SIGINT" | "SIGTERM") => {
    const { createServer } = await import("node:http");
    const { spawn } = await import("node:child_process");
    let held = 0;
    const server = createServer(() => void held++);
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const port = (server.address() as import("node:net").AddressInfo).port;
    try {
      const child = spawn(process.execPath, [join(ROOT, "packages/cli/dist/cli.js"), ...argv], {
        env: { ...process.env, SCOREGATE_URL: `http://127.0.0.1:${port}`, SCOREGATE_TOKEN: token },
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((ok) => child.on("exit", (c) => ok(c)));
      await vi.waitFor(() => expect(held).toBeGreaterThan(0), { timeout: 20_000, interval: 20 }); // a request is out
      child.kill(signal);
      const code = await exited;
      expect(stderr, argv.join(" ")).not.toMatch(/at .*\.js:\d+/u); // no stack trace
      return { code, stderr };
    } finally {
      server.closeAllConnections();
      server.close();
    }
  };

  it("Ctrl-C or SIGTERM stops calibrate at once (130 / 143) with a line saying so, not after the server answers", async () => {
    const file = csv("signal.csv", queries(41, 20, 10));
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      const r = await interruptedWhileWaiting(["calibrate", file, ...gateArgs("e5-signal", "v1"), "--target", "0.2"], "dev-calibrate", signal);
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(`scoregate: interrupted by ${signal}, stopped: an upload already sent may have been stored`);
    }
  }, 60_000);

  it("Ctrl-C or SIGTERM during promote or promotion --wait says what goes on: the promotion, or a change already sent", async () => {
    for (const [argv, signal, code, says] of [
      [["promotion", "prm_0000000001", "--wait", "600"], "SIGINT", 130, "stopped waiting: the promotion goes on, only the wait stopped"],
      [["promote", "cal_0000000002", "--wait=600"], "SIGTERM", 143, "stopped waiting: the promotion goes on, only the wait stopped"],
      [["promote", "cal_0000000002", "--pause"], "SIGINT", 130, "stopped: a change already sent may have been applied"],
      [["promotion", "prm_0000000001"], "SIGINT", 130, "stopped\n"],
    ] as const) {
      const r = await interruptedWhileWaiting(argv, "dev-admin", signal);
      expect(r.code, argv.join(" ")).toBe(code);
      expect(r.stderr, argv.join(" ")).toContain(`scoregate: interrupted by ${signal}, ${says}`);
    }
  }, 60_000);

  it("watch keeps running while the server is down (reconnecting) and ^C ends it with 0", async () => {
    // a port nothing listens on: every connection is refused, so the stream only waits between reconnects
    const { createServer } = await import("node:http");
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
    const port = (probe.address() as import("node:net").AddressInfo).port;
    await new Promise<void>((ok) => probe.close(() => ok()));
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [join(ROOT, "packages/cli/dist/cli.js"), "watch", ...gateArgs("e5-down", "v1").slice(0, 4)], {
      env: { ...process.env, SCOREGATE_URL: `http://127.0.0.1:${port}`, SCOREGATE_TOKEN: "dev-read" },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let exit: number | null | undefined;
    const exited = new Promise<number | null>((ok) =>
      child.on("exit", (c) => {
        exit = c;
        ok(c);
      }),
    );
    // named once with its URL, as the other commands name it; then it retries quietly
    await vi.waitFor(() => expect(stderr).toContain(`could not reach http://127.0.0.1:${port} (ECONNREFUSED)`), {
      timeout: 20_000,
      interval: 50,
    });
    // The first retry comes after at most 1 s; that the retries go on quietly, however many, is watch-restart.test.ts's
    // (in process, with waits of milliseconds). Here: the bin itself stays up with nothing but timers to wait on.
    await new Promise((ok) => setTimeout(ok, 1500));
    expect(exit).toBeUndefined(); // still running after its first reconnect
    expect(stderr.match(/could not reach/gu)).toHaveLength(1);
    expect(stderr).not.toContain("-- connection lost");
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/at .*\.js:\d+/u);
  }, 60_000);

  it("examples/upgrade-replay runs against the worker and ends with what is served (exit 0: the new gate's first calibration)", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "examples", "upgrade-replay", "replay.mjs"), "--url", worker().url.origin], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/absolute 0\.4 +\| +2\d\.\d % \| +5\d\.\d %/u);
    expect(r.stdout).toMatch(/calibrated .*\| +2\d\.\d % \| +2\d\.\d %/u);
    expect(r.stdout).toContain("What is served: scoregate calibrate exited 0 (served: the new gate's first calibration");
  }, 60_000);
});

/** A calibrated gate (200 spread scores, 20 % target) named by its reranker; its CLI flags. */
async function monitoredGate(reranker: string): Promise<string[]> {
  const scores = Array.from({ length: 200 }, (_, i) => (i + 0.5) / 200);
  const res = await fetch(new URL("/v1/calibrations", worker().url), {
    method: "POST",
    headers: { Authorization: "Bearer dev-calibrate", "Content-Type": "application/json" },
    body: JSON.stringify({ index: "docs", embedding: "e5", reranker, index_version: "v1", scores, policy: { kind: "drop_rate", target: 0.2 } }),
  });
  expect(res.status).toBe(201);
  return ["--index", "docs", "--embedding", "e5", "--reranker", reranker];
}

/** One batch of these queries' counts for the gate, counted at once (OBSERVATION_INGEST = "direct"). */
async function observeGate(reranker: string, batchId: string, queries: number[][]): Promise<void> {
  const res = await fetch(new URL("/v1/observations", worker().url), {
    method: "POST",
    headers: { Authorization: "Bearer dev-read", "Content-Type": "application/json" },
    body: JSON.stringify({ batch_id: batchId, index: "docs", embedding: "e5", reranker, queries }),
  });
  expect(res.status).toBe(202);
}

describe("scoregate monitor against the local worker: the unscored count and its alert", () => {
  it("prints no unscored figure for a gate whose service reports only scored candidates", async () => {
    const gate = await monitoredGate("bge-scored");
    await observeGate(
      "bge-scored",
      "scored-1",
      Array.from({ length: 60 }, () => [20, 4]),
    );
    const r = await cli(["monitor", ...gate], env("dev-read"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Gate ${gate[1]} / ${gate[3]} / ${gate[5]} \\(gate [0-9a-f]+\\): drift state `, "u"));
    expect(r.stdout).toMatch(/\n {2}active {5}cal_\S+ \(v1\) since \S+: 60 queries, drop rate 20\.0 % \(expected /u);
    expect(r.stdout).not.toContain("unscored");
    const doc = JSON.parse((await cli(["monitor", ...gate, "--json"], env("dev-read"))).stdout);
    expect(doc.windows[0].unscored_share).toBe(0);
    expect(doc.unscored_alert).toBeNull();
  });

  it("prints the window's unscored count and share, and the alert the monitor raised", async () => {
    const gate = await monitoredGate("bge-outage");
    // 60 queries of 20 scored candidates and 2 without a score: 120 of the 1,320 reported (9.1 %)
    await observeGate(
      "bge-outage",
      "outage-1",
      Array.from({ length: 60 }, () => [20, 4, 4, 0, 2]),
    );
    const r = await cli(["monitor", ...gate], env("dev-read"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\n             unscored 120 of 1,320 reported candidates (9.1 %)\n");
    expect(r.stdout).toMatch(
      /\nUnscored candidates alert alr_\S+, open since \S+ \(x1, last \S+\):\n {4}9\.1 % of the 1,320 candidates services reported/u,
    );
    const doc = JSON.parse((await cli(["monitor", ...gate, "--json"], env("dev-read"))).stdout);
    expect(doc.windows[0]).toMatchObject({ candidates: 1200, unscored_candidates: 120 });
    expect(doc.windows[0].unscored_share).toBeCloseTo(120 / 1320, 12);
    expect(doc.unscored_alert).toMatchObject({ kind: "unscored_candidates", status: "open", gate_id: doc.gate_id });
  });
});
