/**
 * `scoregate monitor` against the local worker (workerd through Miniflare, started once for this file; the CLI runs
 * in-process): a gate whose service reports only scored candidates prints no unscored figure; one whose reranker left
 * 9.1 % of the candidates without a score (over the 5 % and 1,000 candidates that raise the alert) prints the window's
 * count and share and the unscored_candidates alert the monitor raised, in words and in --json.
 */
import { describe, expect, it } from "vitest";
import { cli } from "./support/run";
import { liveFixture } from "./support/worker";

const { worker, env } = liveFixture("scoregate-cli-monitor-live-");

/** A calibrated gate (200 spread scores, 20 % target) named by its reranker; its CLI flags. */
async function calibratedGate(reranker: string): Promise<string[]> {
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
async function observe(reranker: string, batchId: string, queries: number[][]): Promise<void> {
  const res = await fetch(new URL("/v1/observations", worker().url), {
    method: "POST",
    headers: { Authorization: "Bearer dev-read", "Content-Type": "application/json" },
    body: JSON.stringify({ batch_id: batchId, index: "docs", embedding: "e5", reranker, queries }),
  });
  expect(res.status).toBe(202);
}

describe("scoregate monitor against the local worker", () => {
  it("prints no unscored figure for a gate whose service reports only scored candidates", async () => {
    const gate = await calibratedGate("bge-scored");
    await observe(
      "bge-scored",
      "scored-1",
      Array.from({ length: 60 }, () => [20, 4]),
    );
    const r = await cli(["monitor", ...gate], env("dev-read"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Gate [0-9a-f]+: drift state /u);
    expect(r.stdout).toMatch(/\n {2}active {5}cal_\S+ \(v1\) since \S+: 60 queries, drop rate 20\.0 % \(expected /u);
    expect(r.stdout).not.toContain("unscored");
    const doc = JSON.parse((await cli(["monitor", ...gate, "--json"], env("dev-read"))).stdout);
    expect(doc.windows[0].unscored_share).toBe(0);
    expect(doc.unscored_alert).toBeNull();
  });

  it("prints the window's unscored count and share, and the alert the monitor raised", async () => {
    const gate = await calibratedGate("bge-outage");
    // 60 queries of 20 scored candidates and 2 without a score: 120 of the 1,320 reported (9.1 %)
    await observe(
      "bge-outage",
      "outage-1",
      Array.from({ length: 60 }, () => [20, 4, 4, 0, 2]),
    );
    const r = await cli(["monitor", ...gate], env("dev-read"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\n             unscored 120 of 1,320 reported candidates (9.1 %)\n");
    expect(r.stdout).toMatch(
      /\nUnscored candidates alert alr_\S+, open since \S+ \(x1, last \S+\):\n {4}9\.1 % of the 1320 candidates services reported/u,
    );
    const doc = JSON.parse((await cli(["monitor", ...gate, "--json"], env("dev-read"))).stdout);
    expect(doc.windows[0]).toMatchObject({ candidates: 1200, unscored_candidates: 120 });
    expect(doc.windows[0].unscored_share).toBeCloseTo(120 / 1320, 12);
    expect(doc.unscored_alert).toMatchObject({ kind: "unscored_candidates", status: "open", gate_id: doc.gate_id });
  });
});
