// The gate page of a recall gate shows its promise (target, coverage notion, certified bound) and its production
// coverage as GET /v1/monitor reports it: judged queries, observed coverage, its confidence sequence, the detector.
import { describe, expect, it } from "vitest";
import { pct } from "../../src/dashboard/charts/scale";
import { judged, labelledQueries } from "../support/labelled";
import { callJson, qs, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

/** The text of the element marked data-field="name" (tags removed, whitespace collapsed). */
function field(html: string, name: string): string {
  const m = new RegExp(`data-field="${name}"[^>]*>([\\s\\S]*?)</(?:dd|div|section|td)>`, "u").exec(html);
  return (m?.[1] ?? "")
    .replace(/<[^>]+>/gu, "")
    .replace(/[ \t\r\n]+/gu, " ")
    .trim();
}

describe("gate page of a recall gate", () => {
  it("shows the target, notion and certified bound, and the monitor's coverage test", async () => {
    const gate = uniqueGate("coverage-page");
    const data = labelledQueries(21, 500);
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        policy: { kind: "recall", target: 0.9, coverage: "any_relevant" },
        queries: data.map((q) => q.scores),
        relevance: data.map((q) => q.relevance),
      },
    });
    const r = calibration.recall!;
    const cookie = await session(TOKENS.read);

    // Before any judgment: the promise, and a production panel that says nothing was judged yet.
    let html = await page(`/ui/gates/${calibration.gate_id}`, cookie);
    expect(field(html, "current-policy")).toBe(
      `index version v1, recall policy (any_relevant, target 90.0\u00a0%, certified coverage at least ${pct(r.coverage_bound)}), expected drop ${pct(calibration.expected_drop_rate)}`,
    );
    expect(field(html, "coverage-target")).toBe("90.0\u00a0%");
    expect(field(html, "coverage-bound")).toContain(`at least ${pct(r.coverage_bound)}`);
    expect(field(html, "coverage-bound")).toContain(`${r.n} labelled queries`);
    expect(html).toContain("No judged queries yet");

    const t = calibration.threshold!;
    for (let b = 0; b < 3; b++) {
      await callJson("POST", "/v1/judgments", 202, {
        token: TOKENS.read,
        json: { batch_id: `cov-page-${b}`, ...gate, queries: judged(100, t, 0.9, b) },
      });
    }
    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const m = monitor.recall[0]!;
    expect(m.queries).toBe(300);

    html = await page(`/ui/gates/${calibration.gate_id}`, cookie);
    expect(field(html, "coverage-queries")).toBe("300 with a relevant candidate (0 without one, counted, not tested; 3 batches)");
    expect(field(html, "coverage-observed")).toBe(pct(m.observed));
    expect(field(html, "coverage-cs")).toBe(`${pct(m.confidence_sequence_95[0])} to ${pct(m.confidence_sequence_95[1])}`);
    expect(field(html, "coverage-expected")).toBe(`${pct(m.expected)}, tolerated down to ${pct(m.tolerated)}`);
    expect(field(html, "coverage-detector")).toMatch(/^watching; evidence ln E /u);
    // The table lists the monitor's test with its role.
    const start = html.indexOf('data-table="coverage"');
    expect(start, "a coverage table").toBeGreaterThanOrEqual(0);
    const table = html.slice(start, html.indexOf("</table>", start));
    expect(table).toContain(`data-calibration="${calibration.id}"`);
    expect(field(table, "role")).toBe("active");
    expect(field(table, "queries")).toBe("300");
  });

  it("shows no coverage section on a drop-rate gate", async () => {
    const gate = uniqueGate("coverage-none");
    const data = labelledQueries(22, 60);
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.3 }, queries: data.map((q) => q.scores) },
    });
    const html = await page(`/ui/gates/${calibration.gate_id}`, await session(TOKENS.read));
    expect(html).not.toContain('id="coverage"');
    expect(field(html, "current-policy")).toBe(`index version v1, drop_rate policy, expected drop ${pct(calibration.expected_drop_rate)}`);
  });
});
