// The gate page of a gate in each state an on-call engineer meets: a paused promotion, a shadow, nothing served. Each
// unserved calibration's State in the history says what it is now, as the rest of the page does; the rebuild decision
// writes points to one decimal as its sentence does; a gate that serves nothing says so where a figure would be.
import { describe, expect, it } from "vitest";
import { callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

const text = (html: string): string =>
  html
    .replace(/<[^>]+>/gu, " ")
    .replaceAll("&#39;", "'")
    .replace(/\s+/gu, " ")
    .trim();

/** The history table's State cell of a calibration. */
const stateOf = (html: string, id: string): string => {
  const row = html.slice(html.indexOf(`<tr data-calibration="${id}"`));
  return text(/<td data-field="state">([\s\S]*?)<\/td>/u.exec(row.slice(0, row.indexOf("</tr>")))![1]!);
};

const upload = async (gate: ReturnType<typeof uniqueGate>, version: string, offset: number, activate = true) =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: version,
        scores: spreadScores(4000, offset),
        ...(activate ? {} : { activate: false }),
        policy: { kind: "drop_rate", target: 0.25 },
      },
    })
  ).calibration;

describe("the gate page's states", () => {
  it("names a paused promotion's candidate and a shadow in the history, and writes the rebuild's points to one decimal", async () => {
    const cookie = await session(TOKENS.read);
    const paused = uniqueGate("states-paused");
    const v1 = await upload(paused, "v1", 0);
    const v2 = await upload(paused, "v2", 0.01, false);
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { json: { steps: [10, 50, 100], min_queries: 500 } });
    await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, { json: { reason: "on-call look" } });
    const html = await page(`/ui/gates/${v1.gate_id}`, cookie);
    expect(stateOf(html, v1.id)).toBe("current");
    expect(stateOf(html, v2.id)).toBe("promotion candidate, paused");
    const rebuild = text(html.slice(html.indexOf('id="rebuild"'), html.indexOf('id="promotions"')));
    expect(rebuild).toMatch(/ → \d+\.\d % \((?:[+-]\d+\.\d|0\.0) points\)/u);
    expect(rebuild).toMatch(/Change, 95 % interval -?\d+\.\d to -?\d+\.\d points/u);
    expect(rebuild).toContain("Tolerance 2.0 points");

    const shadowed = uniqueGate("states-shadow");
    const s1 = await upload(shadowed, "v1", 0);
    const s2 = await upload(shadowed, "v2", 0.02, false);
    const s3 = await upload(shadowed, "v3", 0.03, false);
    await callJson("POST", `/v1/calibrations/${s2.id}/shadow`, 200, { json: { sample_rate: 0.2 } });
    const shadowPage = await page(`/ui/gates/${s1.gate_id}`, cookie);
    expect(stateOf(shadowPage, s2.id)).toBe("shadow");
    // stored and never served, nor shadowed, nor promoted
    expect(stateOf(shadowPage, s3.id)).toBe("inactive");
  });

  it("says a gate that serves nothing has no rebuild to decide and no activation yet", async () => {
    const gate = uniqueGate("states-unserved");
    const c = await upload(gate, "v1", 0, false);
    const html = await page(`/ui/gates/${c.gate_id}`, await session(TOKENS.read));
    const rebuild = text(html.slice(html.indexOf('id="rebuild"'), html.indexOf('id="production"')));
    expect(rebuild).toContain("No calibration is served, so there is no rebuild to decide on: activate one below.");
    expect(rebuild).not.toContain("The current calibration");
    expect(html).toContain('data-field="no-activations"');
    expect(html).not.toMatch(/Activation log \(0\)<\/summary>\s*<div[^>]*>\s*<table/u);
    expect(stateOf(html, c.id)).toBe("inactive");
    for (const word of ["null", "undefined", "NaN"])
      expect(text(html.replace(/<style[\s\S]*?<\/style>/u, ""))).not.toMatch(new RegExp(`\\b${word}\\b`, "u"));
  });
});
