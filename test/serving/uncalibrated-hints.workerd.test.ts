/** A 404 uncalibrated explains itself: calibrated gates with the same embedding and reranker under other indexes. */
import { describe, expect, it } from "vitest";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

describe("did you mean", () => {
  it('omitting index (so it means "default") suggests index=docs', async () => {
    const gate = uniqueGate("dym");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index: "docs", index_version: "v1", scores: spreadScores(100), policy: { kind: "drop_rate", target: 0.2 } },
    });
    const res = await call("GET", `/v1/threshold?${qs({ embedding: gate.embedding, reranker: gate.reranker })}`, { token: TOKENS.read });
    expect(res.status).toBe(404);
    const { error } = await res.json<any>();
    expect(error.code).toBe("uncalibrated");
    expect(error.message).toContain('index defaults to "default"');
    expect(error.message).toContain("did you mean index=docs?");
    expect(error.details.suggestions).toEqual([{ index: "docs", embedding: gate.embedding, reranker: gate.reranker }]);
    // from the isolate's negative cache the answer is the same
    const again = await (
      await call("GET", `/v1/threshold?${qs({ embedding: gate.embedding, reranker: gate.reranker })}`, { token: TOKENS.read })
    ).json<any>();
    expect(again.error.details.suggestions).toEqual(error.details.suggestions);
  });

  it("a mistyped model names the change in the message, as a mistyped index does", async () => {
    const gate = uniqueGate("dym-model");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index: "docs", index_version: "v1", scores: spreadScores(100), policy: { kind: "drop_rate", target: 0.2 } },
    });
    const typo = `${gate.embedding}-v3`;
    const res = await call("GET", `/v1/threshold?${qs({ ...gate, index: "docs", embedding: typo })}`, { token: TOKENS.read });
    expect(res.status).toBe(404);
    const { error } = await res.json<any>();
    expect(error.code).toBe("uncalibrated");
    expect(error.details.suggestions).toEqual([{ index: "docs", embedding: gate.embedding, reranker: gate.reranker }]);
    expect(error.message).toBe(
      `the gate docs / ${typo} / ${gate.reranker} has no active calibration; did you mean embedding=${gate.embedding}? (see details.suggestions)`,
    );
  });

  it("a mistyped index suggests the closest names first, not the newest gate, and no other names", async () => {
    const gate = uniqueGate("dym-closest");
    // created oldest first: the closest name to "doc" is the oldest; "faq" and "docs-upgrade-replay" are no typos of it
    for (const index of ["docs", "dogs", "faq", "docs-upgrade-replay"]) {
      await callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index, index_version: "v1", scores: spreadScores(100), policy: { kind: "drop_rate", target: 0.2 } },
      });
    }
    const res = await call("GET", `/v1/threshold?${qs({ ...gate, index: "doc" })}`, { token: TOKENS.read });
    expect(res.status).toBe(404);
    const { error } = await res.json<any>();
    expect(error.details.suggestions.map((s: { index: string }) => s.index)).toEqual(["docs", "dogs"]);
    expect(error.message).toContain("did you mean index=docs or index=dogs?");
    // the history's 404 ranks the same way
    const history = await (await call("GET", `/v1/calibrations?${qs({ ...gate, index: "doc" })}`, { token: TOKENS.read })).json<any>();
    expect(history.error.details.suggestions.map((s: { index: string }) => s.index)).toEqual(["docs", "dogs"]);
    // a carry from "active" on the mistyped gate: the same suggestions in its 422
    const carry = await call("POST", "/v1/calibrations", {
      token: TOKENS.calibrate,
      json: { ...gate, index: "doc", index_version: "v2", scores: spreadScores(100), policy: { kind: "carry", reference: "active" } },
    });
    expect(carry.status).toBe(422);
    const refused = (await carry.json<any>()).error;
    expect(refused.code).toBe("unknown_reference");
    expect(refused.details.suggestions).toEqual(error.details.suggestions);
    expect(refused.message).toContain("did you mean index=docs embedding=");
  });

  it("a misspelled reranker under the right index lists the calibrated gates of that index", async () => {
    const gate = uniqueGate("dym2");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(100), policy: { kind: "drop_rate", target: 0.2 } },
    });
    const res = await call("GET", `/v1/threshold?${qs({ ...gate, reranker: `${gate.reranker}-typo` })}`, { token: TOKENS.read });
    const { error } = await res.json<any>();
    expect(error.details.suggestions).toEqual([gate]);
    const none = await (await call("GET", `/v1/threshold?${qs(uniqueGate("nothing-near"))}`, { token: TOKENS.read })).json<any>();
    expect(none.error.details.suggestions).toEqual([]);
    expect(none.error.message).toContain("upload one with POST /v1/calibrations");
  });

  it("a wrong index_version of a gate that exists suggests that gate's own active versions, current first", async () => {
    const gate = uniqueGate("dym-version");
    // another calibrated gate with the same models under another index must not be what a version typo suggests
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index: `${gate.index}-other`, index_version: "v1", scores: spreadScores(100), policy: { kind: "drop_rate", target: 0.2 } },
    });
    for (const v of ["blue", "green"]) {
      await callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        // activate: true: the same 100 scores again are an inconclusive rebuild, which "auto" would not serve
        json: { ...gate, index_version: v, scores: spreadScores(100), policy: { kind: "drop_rate", target: 0.2 }, activate: true },
      });
    }
    const res = await call("GET", `/v1/threshold?${qs({ ...gate, index_version: "gren" })}`, { token: TOKENS.read });
    expect(res.status).toBe(404);
    const { error } = await res.json<any>();
    expect(error.details.suggestions).toEqual([
      { ...gate, index_version: "green" },
      { ...gate, index_version: "blue" },
    ]);
    expect(error.message).toContain('index_version "gren" of the gate');
    expect(error.message).toContain("did you mean index_version=green or index_version=blue?");
  });
});

describe("a mistyped gate elsewhere", () => {
  it("the history of a gate never calibrated is a 404 naming the gates it may mean, not an empty list", async () => {
    const gate = uniqueGate("dym-history");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index: "docs", index_version: "v1", scores: spreadScores(100), policy: { kind: "drop_rate", target: 0.2 } },
    });
    const res = await call("GET", `/v1/calibrations?${qs({ embedding: gate.embedding, reranker: gate.reranker })}`, { token: TOKENS.read });
    expect(res.status).toBe(404);
    const { error } = await res.json<any>();
    expect(error.code).toBe("not_found");
    expect(error.message).toContain('index defaults to "default"');
    expect(error.message).toContain(`did you mean index=docs embedding=${gate.embedding} reranker=${gate.reranker}?`);
    expect(error.details.suggestions).toEqual([{ index: "docs", embedding: gate.embedding, reranker: gate.reranker }]);
    // the gate that exists answers its history
    const history = await callJson("GET", `/v1/calibrations?${qs({ ...gate, index: "docs" })}`, 200, { token: TOKENS.read });
    expect(history.calibrations).toHaveLength(1);
  });

  it("an upload that creates a gate next to calibrated gates of similar names says so, and still creates it", async () => {
    const gate = uniqueGate("dym-upload");
    const body = { index_version: "v1", scores: spreadScores(100), policy: { kind: "drop_rate", target: 0.2 } };
    const first = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...gate, ...body } });
    // the gate's first upload had no neighbour, and a second upload to an existing gate is not new
    expect(first.warnings.map((w: { code: string }) => w.code)).not.toContain("new_gate");
    const again = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...gate, ...body, index_version: "v2" } });
    expect(again.warnings.map((w: { code: string }) => w.code)).not.toContain("new_gate");
    const typo = { ...gate, embedding: `${gate.embedding}-typo` };
    const created = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...typo, ...body } });
    const note = created.warnings.find((w: { code: string }) => w.code === "new_gate")!;
    expect(note.message).toContain(
      `calibrated gates with similar names exist: index=${gate.index} embedding=${gate.embedding} reranker=${gate.reranker}`,
    );
    expect(created.calibration.active).toBe(true);
    // a carry from a named calibration creates its new gate on purpose: no warning
    const upgrade = { ...gate, embedding: `${gate.embedding}-next` };
    const carried = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...upgrade,
        index_version: "v1",
        scores: spreadScores(100),
        policy: { kind: "carry", threshold: 0.4, reference: { calibration_id: first.calibration.id } },
      },
    });
    expect(carried.warnings.map((w: { code: string }) => w.code)).not.toContain("new_gate");
    // an index that is another word, not a typo of the calibrated gate's, is no similar name
    const other = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index: `zz-${gate.index.split("").reverse().join("")}`, ...body },
    });
    expect(other.warnings.map((w: { code: string }) => w.code)).not.toContain("new_gate");
  });
});
