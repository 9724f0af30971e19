// An uncalibrated_request alert is raised for whatever a service asked for, a misspelt index included: no gate row
// names it, so the alert list and the alert page write its name out instead of linking a gate page that is a 404. An
// alert of a gate that exists (calibrated, serving nothing) keeps its link.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { raiseAlert } from "../../src/alerts/lifecycle";
import type { Env } from "../../src/platform/env";
import { gateIdOf } from "../../src/platform/ids";
import { alertDeps } from "../../src/worker/wiring";
import { call, callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

const deps = () => alertDeps(env as unknown as Env, () => undefined);

async function askedFor(gate: ReturnType<typeof uniqueGate>) {
  const gateId = await gateIdOf(gate);
  const { alert } = await raiseAlert(
    {
      gate_id: gateId,
      gate,
      kind: "uncalibrated_request",
      summary: `the token "svc-a" asked for the threshold of ${gate.index} / ${gate.embedding} / ${gate.reranker} in 5 different minutes`,
      details: { index_version: null, token: "svc-a", client: null, minutes: 5, window_minutes: 10 },
      calibration_ids: [],
    },
    deps(),
  );
  return { gateId, alert };
}

describe("an alert of a gate that does not exist", () => {
  it("names the gate without a link on the alert list and the alert page; a gate that exists stays linked", async () => {
    const cookie = await session(TOKENS.read);
    const misspelt = uniqueGate("gateless");
    const missing = await askedFor(misspelt);
    // the link the pages used to draw answers 404
    expect((await call("GET", `/ui/gates/${missing.gateId}`, { token: null, headers: { cookie } })).status).toBe(404);

    // a gate with a calibration stored unserved: its page exists
    const real = uniqueGate("gateless-real");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...real, index_version: "v1", activate: false, scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } },
    });
    const existing = await askedFor(real);
    expect((await call("GET", `/ui/gates/${existing.gateId}`, { token: null, headers: { cookie } })).status).toBe(200);

    const list = await page("/ui/alerts?kind=uncalibrated_request", cookie);
    const row = (id: string) => {
      const at = list.indexOf(`data-alert="${id}"`);
      expect(at, id).toBeGreaterThanOrEqual(0);
      return list.slice(at, list.indexOf("</tr>", at));
    };
    expect(row(missing.alert.id)).not.toContain(`href="/ui/gates/${missing.gateId}"`);
    expect(row(missing.alert.id)).toContain(`${misspelt.index} / ${misspelt.embedding} / ${misspelt.reranker}`);
    expect(row(missing.alert.id)).toContain("(no such gate: nothing was calibrated under this name)");
    expect(row(existing.alert.id)).toContain(`href="/ui/gates/${existing.gateId}"`);
    expect(row(existing.alert.id)).not.toContain('data-field="no-gate"');

    const alertPage = await page(`/ui/alerts/${missing.alert.id}`, cookie);
    expect(alertPage).not.toContain(`href="/ui/gates/${missing.gateId}"`);
    expect(alertPage).toContain(`gate ${misspelt.index} / ${misspelt.embedding} / ${misspelt.reranker}`);
    expect(alertPage).toContain('data-field="no-gate"');
    const realPage = await page(`/ui/alerts/${existing.alert.id}`, cookie);
    expect(realPage).toContain(`href="/ui/gates/${existing.gateId}"`);
  });
});
