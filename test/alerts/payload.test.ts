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
      const body = JSON.parse(alertPayload(alert(summary), event, "2026-12-01T00:00:00.000Z", null));
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

describe("alert payload: names in Slack's inline code, and who resolved it", () => {
  it("writes a name's backtick as U+02CB, so the name stays one code span; data keeps it raw", () => {
    const gate = { index: "docs `v2`", embedding: "e5", reranker: "bge" };
    const a = openAlert({ id: "alr_2", gate_id: "g2", gate, kind: "drop_rate_drift", summary: "drifted", details: {} });
    const body = JSON.parse(alertPayload(a, "opened", "2026-12-01T00:00:00.000Z", null));
    expect(body.text).toContain("on `docs \u02cbv2\u02cb / e5 / bge`\n");
    expect(body.text.match(/`/gu)).toHaveLength(2);
    expect(body.data.gate).toEqual(gate);
  });

  it("a resolution says by whom and with which note (a rollback's reads apart from a click), escaped as the rest", () => {
    const open = openAlert({
      id: "alr_3",
      gate_id: "g3",
      gate: { index: "docs", embedding: "e5", reranker: "bge" },
      kind: "rebuild_shift",
      summary: "s",
      details: {},
    });
    const resolved = (by: string | null, note: string | null): Alert => ({
      ...open,
      status: "resolved",
      resolved_at: "2026-12-01T00:01:00.000Z",
      resolved_by: by,
      resolved_note: note,
    });
    const text = (a: Alert) => JSON.parse(alertPayload(a, "resolved", "2026-12-01T00:01:00.000Z", null)).text as string;
    expect(text(resolved("dev-admin", "resolved by activation act_1: cal_1 <v1> is current again"))).toBe(
      ":white_check_mark: *scoregate: resolved rebuild shift* on `docs / e5 / bge` (alert alr_3) by dev-admin: resolved by activation act_1: cal_1 &lt;v1&gt; is current again",
    );
    expect(text(resolved("alice", null))).toMatch(/\(alert alr_3\) by alice$/u);
    expect(text(resolved(null, null))).toMatch(/\(alert alr_3\)$/u);
  });
});

describe("alert payload: the opening's calibrations", () => {
  const opened = (kind: Alert["kind"], calibration_ids: string[]) =>
    JSON.parse(
      alertPayload(
        openAlert({
          id: "alr_4",
          gate_id: "g4",
          gate: { index: "docs", embedding: "e5", reranker: "bge" },
          kind,
          summary: "s",
          details: {},
          calibration_ids,
        }),
        "opened",
        "2026-12-01T00:00:00.000Z",
        null,
      ),
    ).text as string;

  it("names a rebuild shift's two by role, one or more of another kind plainly, and none when it has none", () => {
    expect(opened("rebuild_shift", ["cal_v1", "cal_v2"]).split("\n").at(-1)).toBe("Alert alr_4 · served before cal_v1, shifted to cal_v2");
    expect(opened("drop_rate_drift", ["cal_v2"]).split("\n").at(-1)).toBe("Alert alr_4 · calibration cal_v2");
    expect(opened("promotion_paused", ["cal_c", "cal_p"]).split("\n").at(-1)).toBe("Alert alr_4 · calibrations cal_c, cal_p");
    // a request for a gate nothing calibrated: no "calibrations none"
    expect(opened("uncalibrated_request", []).split("\n").at(-1)).toBe("Alert alr_4");
  });
});

describe("alert payload with PUBLIC_URL", () => {
  for (const event of ["opened", "resolved"] as const) {
    it(`${event}: \`url\` is the alert's dashboard page, and the text's one markup is the link to it, after the escaped names`, () => {
      const body = JSON.parse(alertPayload(alert("a service asked for <!channel>"), event, "2026-12-01T00:00:00.000Z", "https://sg.example.com/ops"));
      expect(body.url).toBe("https://sg.example.com/ops/ui/alerts/alr_1");
      const [escaped, link] = (body.text as string).split(/\n(?=<https:)/u);
      expect(link).toBe("<https://sg.example.com/ops/ui/alerts/alr_1|Open the alert in scoregate>");
      expect(escaped).not.toMatch(/[<>]/u);
      expect(escaped).toContain("&lt;!channel&gt;");
    });
  }
});
