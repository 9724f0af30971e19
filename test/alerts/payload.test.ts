/**
 * The webhook body of an alert event: Slack's `text` escapes what Slack reads as markup in every name a caller chose
 * (a made-up gate can be requested by any read token), while the structured `data` carries the names as they are.
 */
import { describe, expect, it } from "vitest";
import { alertPayload, slackEscape } from "../../src/alerts/payload";
import type { Alert } from "../../src/contract";
import { openAlert } from "../support/alert-record";

const hostile = {
  index: "<!channel>",
  embedding: "<https://evil.example|Roll back now>",
  reranker: "a&b <@U123> <!here>",
};

const alert = (summary: string): Alert =>
  openAlert({ id: "alr_1", gate_id: "g1", gate: hostile, kind: "uncalibrated_request", summary, details: { index_version: "<!everyone>" } });

describe("slackEscape", () => {
  it("turns &, < and > into Slack's entities, & first so nothing is escaped twice, and leaves the rest", () => {
    expect(slackEscape("a & b < c > d")).toBe("a &amp; b &lt; c &gt; d");
    expect(slackEscape("&lt;")).toBe("&amp;lt;");
    expect(slackEscape(`*bold* _it_ "q" 'a' \`c\` @channel`)).toBe(`*bold* _it_ "q" 'a' \`c\` @channel`);
  });
});

describe("alert payload", () => {
  for (const event of ["opened", "resolved"] as const) {
    it(`${event}: the Slack text has no mention or link markup from a name; data keeps the names raw`, () => {
      const summary = `a service asked for ${hostile.index} / ${hostile.embedding} / ${hostile.reranker}`;
      const body = JSON.parse(alertPayload(alert(summary), event, "2026-12-01T00:00:00.000Z"));
      const text: string = body.text;
      // No `<` or `>` reaches Slack, so no <!channel>, <@user> or <url|label> can form; `&` is escaped too.
      expect(text).not.toMatch(/[<>]/u);
      expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/u);
      expect(text).toContain("&lt;!channel&gt;");
      expect(text).toContain("&lt;https://evil.example|Roll back now&gt;");
      expect(text).toContain("a&amp;b &lt;@U123&gt; &lt;!here&gt;");
      // The structured fields are for programs: exactly what was stored.
      expect(body.data.gate).toEqual(hostile);
      expect(body.data.summary).toBe(summary);
      expect(body.data.details).toEqual({ index_version: "<!everyone>" });
    });
  }
});
