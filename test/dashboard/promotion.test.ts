// A running promotion of a guarded candidate, rendered from its API answer: the step's live numbers, the candidate arm's
// drift detector with its expectation for the arm's own query sizes, and a vs-target line that says its target is for
// those sizes too (a guarded calibration's target: docs/drift.md).
import { describe, expect, it } from "vitest";
import type { Calibration, Promotion } from "../../src/contract";
import { textWidth } from "../../src/dashboard/charts/scale";
import { PromotionTimeline, stateWords } from "../../src/dashboard/pages/promotion";
import { liveDecisionOf as decision } from "../support/live-decisions";

function promotion(strata: boolean): Promotion {
  const dropRate = {
    observed: 0.33,
    expected: 0.345,
    band: { lo: 0.31, hi: 0.38 },
    log_evidence: 0.42,
    alarm: false,
    armed: true,
    ...(strata ? { strata_tested: 5, strata_total: 6, tested_share: 0.9 } : {}),
  };
  return {
    id: "prm_1",
    gate_id: "gate_1",
    candidate_calibration_id: "cal_v3",
    control_calibration_id: "cal_v2",
    plan: { steps: [10, 50, 100], min_queries: 500, on_regression: "rollback", tolerance: 0.02 },
    state: "running",
    step: 1,
    percent: 50,
    steps: [],
    evidence: {
      step: 1,
      candidate_queries: 600,
      control_queries: 610,
      candidate_drop_rate: 0.33,
      control_drop_rate: 0.3,
      vs_control: decision("inconclusive", 0.03, [0.004, 0.056]),
      vs_target: decision("shifted", 0.08, [0.06, 0.1]),
      candidate_drift: { window: { drop_rate: dropRate, log_threshold: 6.9 }, alarm: null },
    },
  } as unknown as Promotion;
}

const CALIBRATIONS = [
  { id: "cal_v2", index_version: "v2" },
  { id: "cal_v3", index_version: "v3" },
] as unknown as Calibration[];

async function stepText(p: Promotion): Promise<string> {
  const html = (await PromotionTimeline({ promotions: [p], calibrations: CALIBRATIONS })!.toString()) as string;
  const at = html.indexOf('data-field="step-evidence"');
  expect(at, "the step's live numbers").toBeGreaterThanOrEqual(0);
  return html
    .slice(at, html.indexOf("</ul>", at))
    .replace(/^[^>]*>/u, "")
    .replace(/<[^>]+>/gu, " ")
    .replaceAll("&#39;", "'")
    .replace(/\s+/gu, " ")
    .trim();
}

describe("a running promotion's step", () => {
  it("labels a guarded arm's expectation and its vs-target line by the arm's query sizes", async () => {
    const text = await stepText(promotion(true));
    expect(text).toContain("Step 2 so far (50 % of keyed traffic):");
    expect(text).toContain("candidate arm: 33.0 % dropped over 600 queries; control arm: 30.0 % over 610 queries");
    expect(text).toContain("against control: inconclusive, +3.0 points (95 %: +0.4 to +5.6)");
    expect(text).toContain(
      "against the candidate calibration's expected rate: shifted, +8.0 points (95 %: +6.0 to +10.0) (for the query sizes the candidate arm sent this step)",
    );
    expect(text).toContain(
      "candidate arm's drift detector: watching, ln R 0.4 of 6.9, expected 34.5 % for the query sizes the candidate arm sent this step (tolerated 31.0 % to 38.0 %)",
    );
  });

  it("says neither for a pooled test", async () => {
    const text = await stepText(promotion(false));
    expect(text).toContain("against the candidate calibration's expected rate: shifted, +8.0 points (95 %: +6.0 to +10.0)");
    expect(text).not.toContain("not weighed by");
    expect(text).toContain("candidate arm's drift detector: watching, ln R 0.4 of 6.9, expected 34.5 % (tolerated 31.0 % to 38.0 %)");
  });
});

describe("a promotion's state in words", () => {
  // The share a closed promotion's candidate had is not what it is served now: only an open one names a share.
  const plan = { steps: [10, 50, 100], min_queries: 500, on_regression: "pause", tolerance: 0.02 } as Promotion["plan"];
  it.each([
    ["running", 1, 50, ", step 2 of 3 (50\u00a0% of keyed traffic)"],
    ["paused", 1, 50, " at step 2 of 3: the candidate keeps its 50\u00a0% of keyed traffic until a person resumes or rolls back the promotion"],
    ["completed", 2, 100, " after step 3 of 3: the candidate was activated"],
    ["rolled_back", 1, 0, " at step 2 of 3: its keyed traffic went back to the control"],
    ["superseded", 0, 0, " at step 1 of 3: an activation of the gate ended it"],
  ] as const)("%s", (state, step, percent, words) => {
    expect(stateWords({ state, step, percent, plan })).toBe(words);
  });
});

describe("the promotion's step chart labels", () => {
  const kinds = ["started", "paused", "resumed", "advanced", "paused", "resumed", "advanced", "paused", "resumed", "rolled_back", "paused"] as const;
  const withSteps = (count: number): Promotion =>
    ({
      ...promotion(false),
      state: "rolled_back",
      evidence: null,
      steps: kinds.slice(0, count).map((kind, i) => ({
        id: `s${i}`,
        kind,
        cause: "operator",
        step: 0,
        percent: kind === "rolled_back" ? 0 : 10,
        seq: i + 1,
        at: "2026-12-01T00:00:00.000Z",
        actor: "alice",
        numbers: {},
      })),
    }) as unknown as Promotion;

  /** Each layout's labels: [left, right] and baseline y, by the charts' own text-width estimate. */
  async function labelsOf(p: Promotion) {
    const html = String(await PromotionTimeline({ promotions: [p], calibrations: [] as Calibration[] })!.toString());
    return [...html.matchAll(/<svg [^>]*data-chart="promotion" data-layout="(\w+)"[^>]*>([\s\S]*?)<\/svg>/gu)].map((m) => {
      const width = Number(/viewBox="0 0 (\d+)/u.exec(m[0])![1]);
      const labels = [...m[2]!.matchAll(/<g data-step="[^"]*">[\s\S]*?<text ([^>]*)>([^<]*)<\/text>/gu)].map((t) => {
        const x = Number(/\bx="([\d.]+)"/u.exec(t[1]!)![1]);
        const y = Number(/\by="([\d.]+)"/u.exec(t[1]!)![1]);
        const anchor = /text-anchor="(\w+)"/u.exec(t[1]!)?.[1] ?? "start";
        const w = textWidth(t[2]!, 12);
        const left = anchor === "end" ? x - w : anchor === "middle" ? x - w / 2 : x;
        return { text: t[2]!, left, right: left + w, y };
      });
      return { layout: m[1]!, width, labels };
    });
  }

  for (const count of [2, 3, 5, 7, 9, 11]) {
    it(`${count} transitions: no two labels overlap, every label inside the chart, the first and the last always drawn`, async () => {
      for (const { layout, width, labels } of await labelsOf(withSteps(count))) {
        expect(labels.length, layout).toBeGreaterThanOrEqual(Math.min(count, 2));
        expect(labels[0]!.text, layout).toBe("started");
        expect(labels.at(-1)!.text, layout).toBe(kinds[count - 1]!.replace("_", " "));
        for (const l of labels) {
          expect(l.left, `${layout}: ${l.text}`).toBeGreaterThanOrEqual(0);
          expect(l.right, `${layout}: ${l.text}`).toBeLessThanOrEqual(width);
        }
        for (let i = 0; i < labels.length; i++)
          for (let j = i + 1; j < labels.length; j++) {
            const [a, b] = [labels[i]!, labels[j]!];
            if (a.y === b.y) expect(a.right <= b.left || b.right <= a.left, `${layout}: "${a.text}" and "${b.text}" overlap`).toBe(true);
          }
      }
    });
  }
});

describe("how many promotions the gate page shows of how many", () => {
  const render = async (count: { total: number; more: boolean }, shown: number) =>
    String(
      await PromotionTimeline({
        promotions: Array.from({ length: shown }, (_, i) => ({ ...promotion(false), id: `prm_${i}` })),
        calibrations: CALIBRATIONS,
        gateId: "gate_1",
        count,
      })!.toString(),
    );
  const line = (html: string) => /data-field="promotions-shown">([\s\S]*?)<\/p>/u.exec(html)?.[1]?.replace(/<[^>]+>/gu, "") ?? null;

  it("says nothing when every promotion is shown, the count when fewer are, and 'more than' past what it counts", async () => {
    expect(line(await render({ total: 2, more: false }, 2))).toBeNull();
    expect(line(await render({ total: 7, more: false }, 3))).toMatch(/^The newest 3 of 7 promotions are shown, newest first\. /u);
    const many = line(await render({ total: 100, more: true }, 3));
    expect(many).toMatch(/^The newest 3 of more than 100 promotions are shown, newest first\. /u);
    expect(many).toContain("GET /v1/gates/gate_1/promotions");
  });
});
