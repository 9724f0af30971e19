import { describe, expect, it } from "vitest";
import { renderPrometheus } from "../../src/monitoring/prometheus";

describe("renderPrometheus", () => {
  it("writes HELP and TYPE before each family's samples, one line each, ending with a newline", () => {
    const text = renderPrometheus({
      scoregate_threshold: { help: "Current threshold of the gate.", samples: [{ labels: { gate_id: "g1" }, value: 0.25 }] },
      scoregate_window_queries: {
        help: "Production queries observed in the current window.",
        samples: [
          { labels: { gate_id: "g1", calibration_id: "cal_1" }, value: 1200 },
          { labels: { gate_id: "g2", calibration_id: "cal_2" }, value: 0 },
        ],
      },
    });
    expect(text).toBe(
      [
        "# HELP scoregate_threshold Current threshold of the gate.",
        "# TYPE scoregate_threshold gauge",
        'scoregate_threshold{gate_id="g1"} 0.25',
        "# HELP scoregate_window_queries Production queries observed in the current window.",
        "# TYPE scoregate_window_queries gauge",
        'scoregate_window_queries{gate_id="g1",calibration_id="cal_1"} 1200',
        'scoregate_window_queries{gate_id="g2",calibration_id="cal_2"} 0',
        "",
      ].join("\n"),
    );
  });

  it("types a running total as a counter, every other family as a gauge", () => {
    const text = renderPrometheus({
      scoregate_queued_batches: { help: "Batches.", type: "counter", samples: [{ labels: { result: "counted" }, value: 3 }] },
      scoregate_up: { help: "Always 1.", samples: [{ labels: {}, value: 1 }] },
    });
    expect(text).toContain('# TYPE scoregate_queued_batches counter\nscoregate_queued_batches{result="counted"} 3\n');
    expect(text).toContain("# TYPE scoregate_up gauge\n");
  });

  it("keeps HELP and TYPE for a family without samples, and omits braces without labels", () => {
    expect(
      renderPrometheus({
        scoregate_open_alerts: { help: "Unresolved alerts.", samples: [] },
        scoregate_up: { help: "Always 1.", samples: [{ labels: {}, value: 1 }] },
      }),
    ).toBe(
      "# HELP scoregate_open_alerts Unresolved alerts.\n# TYPE scoregate_open_alerts gauge\n# HELP scoregate_up Always 1.\n# TYPE scoregate_up gauge\nscoregate_up 1\n",
    );
  });

  it("escapes backslash, double quote and newline in label values (in that order, so nothing is escaped twice)", () => {
    const text = renderPrometheus({
      m: {
        help: "h",
        samples: [
          { labels: { reranker: "BAAI/bge-reranker-v2-m3@5f0c1a" }, value: 1 },
          { labels: { path: "C:\\models\\rr" }, value: 1 },
          { labels: { name: 'say "hi"' }, value: 1 },
          { labels: { text: "line1\nline2" }, value: 1 },
          { labels: { all: '\\"\n' }, value: 1 },
          { labels: { literal: "\\n" }, value: 1 }, // a backslash then an n, not a newline
        ],
      },
    });
    const samples = text.split("\n").filter((l) => l.startsWith("m{"));
    expect(samples).toEqual([
      'm{reranker="BAAI/bge-reranker-v2-m3@5f0c1a"} 1',
      'm{path="C:\\\\models\\\\rr"} 1',
      'm{name="say \\"hi\\""} 1',
      'm{text="line1\\nline2"} 1',
      'm{all="\\\\\\"\\n"} 1',
      'm{literal="\\\\n"} 1',
    ]);
    // Every sample stays on one line: 2 comment lines + 6 samples + the final empty string.
    expect(text.split("\n")).toHaveLength(9);
  });

  it("writes NaN, +Inf and -Inf as Prometheus spells them, and plain numbers as JavaScript prints them", () => {
    const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0.5, 1e-7, 123456789, 0.1 + 0.2];
    const text = renderPrometheus({ v: { help: "values", samples: values.map((value, i) => ({ labels: { i: String(i) }, value })) } });
    const printed = text
      .split("\n")
      .filter((l) => l.startsWith("v{"))
      .map((l) => l.slice(l.indexOf("} ") + 2));
    expect(printed).toEqual(["NaN", "+Inf", "-Inf", "0", "-0.5", "1e-7", "123456789", "0.30000000000000004"]);
    // Each printed value parses back to the same number (Prometheus uses Go's ParseFloat, which reads these forms).
    for (const [i, p] of printed.entries()) {
      const back = p === "+Inf" ? Number.POSITIVE_INFINITY : p === "-Inf" ? Number.NEGATIVE_INFINITY : Number(p);
      expect(back).toBe(values[i]);
    }
  });
});
