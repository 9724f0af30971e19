// The README walk-through, step by step, with the same request bodies (fixtures/walkthrough), and what README.md says
// about each step checked against what the Worker answers: the responses, the rollback and the gate page after it.
import { describe, expect, it } from "vitest";
import messy from "../fixtures/golden/messy.json";
import v1 from "../fixtures/walkthrough/v1.json";
import v2 from "../fixtures/walkthrough/v2.json";
import readme from "../README.md?raw";
import { pageResponse, session } from "./dashboard/session-support";
import { call, callJson, qs, TOKENS } from "./support/worker";

/** README.md with its line breaks and indentation folded to single spaces, as prose and wrapped JSON are compared. */
const README = readme.replace(/\s+/gu, " ");

/** The rebuild decision scipy computes from the same two uploads. */
const WALKTHROUGH_SHIFT = messy.decideChangeT.find((c) => c.name.startsWith("README walk-through"))!;

const gate = { index: v1.index, embedding: v1.embedding, reranker: v1.reranker };

describe("README walk-through: carry 0.4 across an index rebuild", () => {
  it("v1 keeps 0.4's drop rate, v2 carries it from the active v1 and reports the shift, the service serves v2", async () => {
    const first = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: v1 });
    expect(first.calibration.threshold).toBe(0.4);
    expect(first.calibration.carry!.reference_drop_rate).toBe(0.22);
    expect(first.shift).toBeNull();

    const second = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: v2 });
    expect(second.calibration.target_drop_rate).toBe(0.22);
    expect(second.calibration.threshold).toBeLessThan(0.4);
    expect(second.calibration.in_sample_drop_rate).toBeCloseTo(0.22, 3);
    expect(second.shift).toMatchObject({
      previous_calibration_id: first.calibration.id,
      previous_threshold: 0.4,
      drop_rate_at_previous_threshold: 0.59,
      decision: "shifted",
      alert: true,
    });
    // The 95 % interval of the move lies far beyond the 2-point tolerance.
    expect(second.shift!.change_interval_95[0]).toBeGreaterThan(0.3);
    expect(second.shift!.change_interval_95[1]).toBeLessThan(0.45);
    // 8,000 clustered scores in 400 queries are worth about 2,700 independent ones: the upload says so.
    expect(first.calibration.effective_n).toBeCloseTo(8000 / first.calibration.per_query!.design_effect, 6);
    expect(first.calibration.warnings.map((w: { code: string }) => w.code)).toEqual(["small_sample"]);
    expect(second.shift!.change_points).toBeCloseTo(37, 9);

    // Every number the README shows for steps 1 and 2, at the precision it shows them (README.md stays truthful).
    const c1 = first.calibration;
    expect(c1).toMatchObject({ target_drop_rate: 0.22, in_sample_drop_rate: 0.22, ties_at_threshold: 1, n: 8000, n_queries: 400 });
    expect(c1.expected_drop_rate).toBeCloseTo(0.2200974878, 10);
    expect(c1.conformal_drop_rate).toBeCloseTo(0.2200974878, 10);
    expect(c1.effective_n).toBeCloseTo(2737.37, 2);
    // Student's t on the Satterthwaite df of the design effect (about 102 for 400 queries here) widens both a little.
    expect(c1.interval_degrees_of_freedom).toBeCloseTo(102.27, 2);
    expect(c1.drop_rate_interval_95[0]).toBeCloseTo(0.2045973515, 9);
    expect(c1.drop_rate_interval_95[1]).toBeCloseTo(0.2359941925, 9);
    expect(c1.threshold_interval_95[0]).toBeCloseTo(0.3829, 4);
    expect(c1.threshold_interval_95[1]).toBeCloseTo(0.4164, 4);
    expect(c1.per_query).toMatchObject({ mean_kept: 15.6, mean_candidates: 20, empty_context_rate: 0 });
    expect(c1.per_query!.design_effect).toBeCloseTo(2.92, 2);
    const strata = c1.per_query!.empty_context_by_candidates!;
    expect(strata[0]).toMatchObject({ min_candidates: 1, max_candidates: 1, queries: 400, extrapolated: false, source: "hypergeometric" });
    // Every v1 query brings 20 candidates: nothing in the calibration can check the extrapolation to shorter ones.
    expect(c1.per_query!.empty_context_check!.verdict).toBe("untested");
    expect(strata[0]!.rate).toBeCloseTo(0.22, 4);
    // One candidate a query: the stratum is worth what the calibration's drop rate is worth (n / design effect).
    expect(strata[0]!.effective_queries).toBeCloseTo(first.calibration.effective_n, 2);
    expect(strata[0]!.effective_queries).toBeCloseTo(2737.37, 2);
    expect(strata[1]!.rate).toBeCloseTo(0.0657, 4);
    expect(strata[2]!.rate).toBeCloseTo(0.0245, 4);
    expect(c1.summary.quantiles[0]).toBeCloseTo(0.0174, 4);
    expect(c1.warnings[0]!.message).toBe(
      "8,000 scores in 400 queries are worth 2,737 independent ones (design effect 2.92): the drop rate's 95 % interval is wider than +-1 point around 22 %; about 6,592 effective scores are needed",
    );
    const c2 = second.calibration;
    expect(c2.threshold).toBeCloseTo(0.1491, 4);
    expect(c2.expected_drop_rate).toBeCloseTo(0.22, 2);
    const s2 = second.shift!;
    expect(s2.change_relative!).toBeCloseTo(1.6818, 4);
    expect(s2.z).toBeCloseTo(25.79, 2);
    expect(s2.ks).toBeCloseTo(0.3872, 4);
    expect(s2.psi).toMatchObject({ bins: 10, threshold: 0.1, exceeds: true });
    expect(s2.psi.value).toBeCloseTo(0.9186, 4);
    // Student's t on the Welch-Satterthwaite df of both sides' query totals: a hair wider than the normal 34.40..39.60.
    // scipy computes the same interval from the same uploads (fixtures/golden/messy-generate.py, walkthrough_case).
    expect(s2.change_interval_95[0]).toBeCloseTo(0.3438363077, 10);
    expect(s2.change_interval_95[1]).toBeCloseTo(0.3961636923, 10);
    expect(s2.change_interval_95[0]).toBeCloseTo(WALKTHROUGH_SHIFT.interval95[0]!, 10);
    expect(s2.change_interval_95[1]).toBeCloseTo(WALKTHROUGH_SHIFT.interval95[1]!, 10);
    expect(s2.degrees_of_freedom!).toBeCloseTo(WALKTHROUGH_SHIFT.degreesOfFreedom!, 8);
    expect(s2.design_effect_source).toBe("both");
    expect(s2.more_data_factor).toBeNull();
    expect(s2.reason).toBe(
      "the previous threshold 0.4 drops 59.0 % of the new scores against 22.0 % before (+37.0 points, 95 % interval 34.4..39.6 points): shifted, beyond the 2.0-point tolerance (minimum-effect test, level 0.001)",
    );
    expect(second.warnings.map((w) => w.code)).toEqual(["small_sample", "small_reference"]);
    expect(second.warnings[1]!.message).toBe(
      "the carried drop rate has sd 1.13 points from the effective sizes of the reference (8,000 scores) and new (8,000 scores) samples",
    );

    const res = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    const served = await res.json<any>();
    expect(served.calibration_id).toBe(second.calibration.id);
    expect(served.threshold).toBe(second.calibration.threshold);
    const [shiftAlert] = (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "rebuild_shift" })}`, 200, { token: TOKENS.read })).alerts;
    expect(shiftAlert).toMatchObject({ status: "open", calibration_ids: [first.calibration.id, second.calibration.id] });

    // 4. Roll back to v1: the response's shift report says what the move is and why it alerts nobody, and the open
    // rebuild_shift alert is resolved by it; no alert is raised.
    const rollback = await callJson("POST", `/v1/calibrations/${first.calibration.id}/activate`, 200, {
      token: TOKENS.admin,
      json: { reason: "v2 hurt recall" },
    });
    expect(rollback.activation).toMatchObject({
      calibration_id: first.calibration.id,
      previous_calibration_id: second.calibration.id,
      reason: "v2 hurt recall",
    });
    expect(rollback.shift).toMatchObject({
      previous_calibration_id: second.calibration.id,
      decision: "shifted",
      alert: false,
      not_alerted: "rollback",
    });
    const rb = rollback.shift!;
    expect(rb.previous_threshold).toBe(second.calibration.threshold);
    expect(rb.drop_rate_at_previous_threshold).toBeCloseTo(0.03635, 5);
    expect(rb.change_points).toBeCloseTo(-18.365, 3);
    const alerts = (await callJson("GET", `/v1/alerts?${qs(gate)}`, 200, { token: TOKENS.read })).alerts;
    expect(alerts.map((a) => [a.kind, a.status])).toEqual([["rebuild_shift", "resolved"]]);
    expect(alerts[0]!.resolved_note).toContain(`resolved by activation ${rollback.activation!.id}`);

    // What README.md shows of the rollback's answer is what it answers.
    expect(README).toContain(`"decision": "shifted", "alert": false, "not_alerted": "rollback"`);
    expect(README).toContain(`"reason": "${rb.reason}"`);
    expect(README).toContain(`"drop_rate_at_previous_threshold": ${Number(rb.drop_rate_at_previous_threshold.toFixed(4))}`);

    // 5. The gate page after the rollback, as the README describes it and its screenshot shows it.
    const cookie = await session(TOKENS.read);
    const page = await pageResponse(`/ui/gates/${first.calibration.gate_id}`, cookie);
    // The text of every data-field element, read with workerd's own HTML parser.
    const fields: Record<string, string> = {};
    let open: string[] = [];
    await new HTMLRewriter()
      .on("[data-field]", {
        element(el) {
          const name = el.getAttribute("data-field")!;
          fields[name] = "";
          open = [...open, name];
          el.onEndTag(() => {
            open = open.filter((n) => n !== name);
          });
        },
      })
      .on("*", {
        text(t) {
          for (const name of open) fields[name] += t.text;
        },
      })
      .transform(page)
      .text();
    // Text chunks come as written in the HTML: decode the entities hono/jsx escapes.
    const entities: Record<string, string> = { "&quot;": '"', "&#39;": "'", "&lt;": "<", "&gt;": ">", "&amp;": "&" };
    const field = (name: string): string =>
      (fields[name] ?? "")
        .replace(/&(quot|#39|lt|gt|amp);/gu, (e) => entities[e]!)
        .replace(/\s+/gu, " ")
        .trim();
    const headline = field("headline").replace(/^What the old threshold means on the rebuilt index/u, "");
    expect(headline).toBe("0.4 drops 22 % of v1 and 59 % of v2");
    expect(README).toContain(`the gate page reads "${headline}"`);
    expect(field("current-threshold")).toBe("0.4");
    expect(field("rolled-back")).toMatch(/^Rolled back from v2 at .* UTC by alice: "v2 hurt recall"$/u);
    expect(field("decision")).toBe("shifted");

    // 6. "After an embedding or reranker upgrade": the README's command, its body as its jq edit builds it from v2.json.
    const upgrade = readme.slice(readme.indexOf("### After an embedding or reranker upgrade"));
    const edit = /jq --arg id "\$V1" '\{index, embedding: "([^"]+)", reranker, index_version: "(\w+)",/u.exec(upgrade);
    expect(edit, "README.md's upgrade command").not.toBeNull();
    const upgraded = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        index: v2.index,
        embedding: edit![1],
        reranker: v2.reranker,
        index_version: edit![2],
        policy: { kind: "carry", reference: { calibration_id: first.calibration.id } },
        queries: v2.queries,
      },
    });
    expect(upgraded.calibration.gate_id).not.toBe(first.calibration.gate_id);
    const upgradedThreshold = upgraded.calibration.threshold!;
    expect(upgradedThreshold).toBeCloseTo(second.calibration.threshold!, 12);
    expect(upgraded.shift).toMatchObject({
      compared_with: "carry_reference",
      previous_calibration_id: first.calibration.id,
      drop_rate_at_previous_threshold: 0.59,
      decision: "shifted",
      alert: false,
      not_alerted: "intended_carry",
    });
    expect(upgraded.activation_outcome.activated).toBe(true);
    const upgradeProse = upgrade.replace(/\s+/gu, " ").replaceAll("`", "");
    expect(upgradeProse).toContain(`The new gate serves ${Number(upgradedThreshold.toFixed(4))}`);
    expect(upgradeProse).toContain(
      `"drop_rate_at_previous_threshold": 0.59, "decision": "shifted", with "alert": false and "not_alerted": "intended_carry"`,
    );
    expect((await callJson("GET", `/v1/alerts?${qs({ ...gate, embedding: edit![1] })}`, 200, { token: TOKENS.read })).alerts).toEqual([]);
  });
});
