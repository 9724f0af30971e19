// The gate page after a rollback (README.md's step 4) on a gate that also holds a later upload stored and never served
// (activate: false): the page compares the served calibration with the one it was rolled back from, as it did while
// that one was served, and says who rolled it back; the later upload does not take the rebuild's place. The history
// names the calibration rolled back as the rest of the page does, with the reads pinned to its version that still get it.
import { describe, expect, it } from "vitest";
import { callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

const text = (html: string): string =>
  html
    .replace(/<[^>]+>/gu, " ")
    .replaceAll("&#39;", "'")
    .replaceAll("&quot;", '"')
    .replace(/\s+/gu, " ")
    .trim();

/** The history table's State cell of a calibration. */
const stateIn = (html: string, id: string): string => {
  const row = html.slice(html.indexOf(`<tr data-calibration="${id}"`));
  return text(/<td data-field="state">([\s\S]*?)<\/td>/u.exec(row.slice(0, row.indexOf("</tr>")))![1]!);
};

type Gate = ReturnType<typeof uniqueGate>;

const upload = async (gate: Gate, version: string, json: Record<string, unknown>) =>
  (await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...gate, index_version: version, ...json } })).calibration;

const activate = (id: string, reason: string) => callJson("POST", `/v1/calibrations/${id}/activate`, 200, { token: TOKENS.admin, json: { reason } });

/** The gate page's parts that name the rebuild: the rollback line, the headline and the rebuild decision's heading. */
async function rebuildParts(gateId: string, cookie: string) {
  const html = await page(`/ui/gates/${gateId}`, cookie);
  const field = (name: string) => {
    const at = html.indexOf(`data-field="${name}"`);
    return at < 0 ? null : text(html.slice(html.indexOf(">", at) + 1, html.indexOf("</div>", at)));
  };
  const heading = /<h2 id="rebuild">([\s\S]*?)<\/h2>/u.exec(html)?.[1];
  const headline = /data-field="headline"[\s\S]*?<div class="big">([\s\S]*?)<\/div>/u.exec(html)?.[1];
  return {
    html,
    rolledBack: field("rolled-back"),
    headline: headline === undefined ? null : text(headline),
    heading: heading === undefined ? null : text(heading),
  };
}

describe("the gate page after a rollback", () => {
  it("keeps the rebuild that was served and rolled back when a later upload was stored unserved", async () => {
    const cookie = await session(TOKENS.read);
    const gate = uniqueGate("rollback-unserved");
    const v1 = await upload(gate, "v1", { scores: spreadScores(4000), policy: { kind: "drop_rate", target: 0.2 } });
    // the rebuilt index: the old threshold drops twice as much of it
    const v2 = await upload(gate, "v2", { scores: spreadScores(4000, -0.2), policy: { kind: "carry", reference: "active" }, activate: false });
    // a later upload, stored and never served
    const v3 = await upload(gate, "v3", { scores: spreadScores(4000, 0.01), policy: { kind: "drop_rate", target: 0.2 }, activate: false });
    expect(v3.shift?.previous_calibration_id).toBe(v1.id);

    await activate(v2.id, "serve v2");
    const served = await rebuildParts(v1.gate_id, cookie);
    expect(served.heading).toBe("Rebuild decision: v1 → v2");
    expect(served.headline).toMatch(/drops 20 % of v1 and \d+ % of v2$/u);

    await activate(v1.id, "v2 hurt recall");
    const after = await rebuildParts(v1.gate_id, cookie);
    expect(after.rolledBack).toMatch(/^Rolled back from v2 at .* UTC by \S+: "v2 hurt recall"$/u);
    // the page reads the same as before the rollback
    expect(after.heading).toBe("Rebuild decision: v1 → v2");
    expect(after.headline).toBe(served.headline);
    expect(after.html).not.toContain("% of v3");

    // The history names v2 as the rebuild card does, "rolled back", and says reads pinned to v2 still get it.
    expect(text(after.html)).toContain("v2 is not served now (rolled back): v1 is.");
    expect(stateIn(after.html, v2.id)).toBe("rolled back (still served to reads pinned to v2)");
    expect(stateIn(after.html, v1.id)).toBe("current");
    expect(stateIn(after.html, v3.id)).toBe("inactive");
    // while v2 was served, v1 was the calibration of its pinned version and nothing else
    expect(stateIn(served.html, v1.id)).toBe("served to reads pinned to v1");
    const pinned = await callJson("GET", `/v1/threshold?${new URLSearchParams({ ...gate, index_version: "v2" })}`, 200, { token: TOKENS.read });
    expect(pinned.calibration_id).toBe(v2.id);
  });
});
