/**
 * `scoregate activate` prints every warning of the server's answer, whatever its code: one the CLI has never heard of
 * (the server's coming `promotion_superseded`, when an activation ends the gate's open promotion) is printed as the
 * known ones are, without a CLI change, real or --dry-run; --json passes the answer on as the server sent it.
 */
import { describe, expect, it } from "vitest";
import { cli } from "./support/run";
import { stubFixture } from "./support/stub-server";

const { stub, env } = stubFixture("scoregate-cli-activate-");

/** An activation answer as the server sends it (src/contract/envelopes.ts ActivationResult), with `over` applied. */
const answer = (over: Record<string, unknown> = {}) => ({
  activation: { id: "act_1", gate_id: "g1", calibration_id: "cal_v2", actor: "alice", previous_calibration_id: "cal_v1", reason: "reviewed" },
  calibration: {
    id: "cal_v2",
    index: "docs",
    embedding: "e5",
    reranker: "bge",
    index_version: "v2",
    threshold: 0.43,
    expected_drop_rate: 0.2,
  },
  shift: { reason: "equivalent: the previous threshold drops 21.0 % of the new scores", previous_calibration_id: "cal_v1" },
  dry_run: false,
  ...over,
});

const warnings = [
  { code: "drop_rate_changed", message: "it drops 30.0 % of candidates where cal_v1 dropped 20.0 %" },
  // a code this CLI does not know, with details a newer server adds
  {
    code: "promotion_superseded",
    message: "the gate's open promotion prm_7 (of cal_v3) was superseded by this activation",
    details: { promotion_id: "prm_7" },
  },
];

describe("scoregate activate prints the server's warnings, known or not", () => {
  it("an activation: each warning on its own line after the headline, in the server's order, before the shift", async () => {
    stub.handle(() => ({ status: 200, body: answer({ warnings }) }));
    const r = await cli(["activate", "cal_v2", "--reason", "reviewed"], env());
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split("\n")).toEqual([
      "Activated cal_v2 (docs / e5 / bge, index version v2): threshold 0.43 is served now",
      "  replacing cal_v1; recorded as act_1 by alice: reviewed",
      "Warning (drop_rate_changed): it drops 30.0 % of candidates where cal_v1 dropped 20.0 %",
      "Warning (promotion_superseded): the gate's open promotion prm_7 (of cal_v3) was superseded by this activation",
      "  shift: equivalent: the previous threshold drops 21.0 % of the new scores",
    ]);
  });

  it("a dry run prints an unknown warning the same way", async () => {
    stub.handle(() => ({ status: 200, body: answer({ activation: null, dry_run: true, warnings: [warnings[1]] }) }));
    const r = await cli(["activate", "cal_v2", "--dry-run"], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(stub.last().body)).toEqual({ dry_run: true });
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Dry run: activating cal_v2 .* nothing was changed$/u);
    expect(lines).toContain("Warning (promotion_superseded): the gate's open promotion prm_7 (of cal_v3) was superseded by this activation");
  });

  it("--json passes the answer on as sent: every warning with its details, and fields this CLI does not read", async () => {
    const body = answer({ warnings, promotion: { id: "prm_7", state: "superseded" } });
    stub.handle(() => ({ status: 200, body }));
    for (const extra of [[], ["--dry-run"]]) {
      const r = await cli(["activate", "cal_v2", ...extra, "--json"], env());
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(body);
    }
  });
});
