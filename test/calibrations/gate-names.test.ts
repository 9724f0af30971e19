/**
 * Which calibrated gates a mistyped gate name suggests (src/calibrations/gate-names.ts): a typo of a name, not any
 * gate that shares the other two names. The same suggestions serve the uncalibrated 404, the unknown gate's 404, the
 * `unknown_reference` of a carry from "active", and the `new_gate` warning.
 */
import { describe, expect, it } from "vitest";
import { newGateWarning, refuseInvisibleNames, similarGates, similarName } from "../../src/calibrations/gate-names";
import type { GateRow } from "../../src/calibrations/store";
import { AppError } from "../../src/platform/errors";

type Name = { index: string; embedding: string; reranker: string };

/** A store whose calibrated neighbours are `gates`, in that order (as the store ranks them); no gate exists. */
const neighbours = (gates: readonly Name[]) => ({
  calibratedNeighbours: async () => gates.map((g) => ({ ...g, gate_id: `g-${g.index}-${g.embedding}` }) as unknown as GateRow),
  gate: async () => null,
});

const E5 = "intfloat/e5-large-v2";
const BGE = "BAAI/bge-reranker-v2-m3";
const at = (index: string, embedding = E5, reranker = BGE): Name => ({ index, embedding, reranker });

describe("similarName", () => {
  it.each([
    ["doc", "docs", "index"],
    ["mien", "mine", "index"], // two letters swapped: 2 edits
    ["Docs", "docs", "index"],
    ["intfloat/e5-large-v3", E5, "embedding"],
    ["e5-large-v2", E5, "embedding"], // the organisation left out
    ["bge-reranker-v2-m3", BGE, "reranker"],
    ["BAAI/bge-m3@v1-typo", "BAAI/bge-m3@v1", "embedding"], // 5 edits of 19 characters
  ] as const)("%j is a typo of %j (%s)", (asked, other, part) => {
    expect(similarName(asked, other, part)).toBe(true);
  });

  it.each([
    ["semi", "mine", "index"], // 4 edits of 4 characters: another word
    ["doc", "faq", "index"],
    ["doc", "docs-upgrade-replay", "index"],
    ["qa", "faq", "index"], // 2 edits, as many as the shorter name has characters
    ["e5-eq", "e5-guard", "embedding"],
    ["e5-large-v2", "e5", "embedding"],
    ["docs", "e5-large-v2", "index"], // the organisation rule is for model names only
  ] as const)("%j is not a typo of %j (%s)", (asked, other, part) => {
    expect(similarName(asked, other, part)).toBe(false);
  });
});

describe("similarGates", () => {
  it("keeps the plausible typos, closest first, and drops the other names", async () => {
    const store = neighbours([at("faq"), at("mine"), at("docs-upgrade-replay"), at("docs")]);
    expect((await similarGates(at("doc"), store)).map((g) => g.index)).toEqual(["docs"]);
    expect((await similarGates(at("semi"), store)).map((g) => g.index)).toEqual([]);
    expect((await similarGates(at("mien"), store)).map((g) => g.index)).toEqual(["mine"]);
  });

  it("a gate asked for without an index (the default one) may mean any index of the same models", async () => {
    const store = neighbours([at("faq"), at("docs")]);
    expect((await similarGates(at("default"), store)).map((g) => g.index)).toEqual(["faq", "docs"]);
  });

  it("a model of another name under the same index is not suggested; a mistyped one is", async () => {
    const store = neighbours([at("docs", "BAAI/bge-m3"), at("docs", E5, "ms-marco-MiniLM-L-6-v2"), at("docs")]);
    expect(await similarGates(at("docs", "intfloat/e5-large-v3"), store)).toEqual([at("docs")]);
  });

  it("the new_gate warning follows the same rule: none for semi next to mine, one for mien", async () => {
    const store = neighbours([at("mine")]);
    expect(await newGateWarning(at("semi"), "g-semi", store)).toBeNull();
    const warning = await newGateWarning(at("mien"), "g-mien", store);
    expect(warning?.code).toBe("new_gate");
    expect(warning?.message).toContain(`calibrated gates with similar names exist: index=mine embedding=${E5} reranker=${BGE}`);
  });
});

describe("refuseInvisibleNames", () => {
  const names = { index: "docs\u200b", embedding: "e5", reranker: "bge\u202e", index_version: "v1" };
  const store = (existing: boolean, versions: string[] = ["v1"]) => ({
    gate: async () => (existing ? ({ gate_id: "g1", index: names.index, embedding: "e5", reranker: "bge", created_at: "" } as GateRow) : null),
    activeRows: async () => (existing ? versions.map((index_version) => ({ index_version }) as never) : []),
  });

  it("refuses a new gate's invisible format characters, naming each field and character", async () => {
    const e = await refuseInvisibleNames(names, "g1", store(false)).then(
      () => null,
      (x: unknown) => x as AppError,
    );
    expect(e).toBeInstanceOf(AppError);
    expect(e!.code).toBe("invalid_input");
    expect(e!.details).toEqual([
      { path: "index", message: "must not contain invisible format characters (U+200B)" },
      { path: "reranker", message: "must not contain invisible format characters (U+202E)" },
    ]);
  });

  it.each([
    ["\u3164", "must not contain blank filler characters (U+3164)"],
    ["docs\uffa0", "must not contain blank filler characters (U+FFA0)"],
    ["docs\uffff", "must not contain noncharacters (U+FFFF)"],
    ["\ufdd0x", "must not contain noncharacters (U+FDD0)"],
    ["\u0301", "must not begin with a combining mark (U+0301), which has nothing to combine with"],
    ["\u200ddocs", "must not begin or end with a joiner (U+200D), which joins nothing there"],
    ["docs\u200c", "must not begin or end with a joiner (U+200C), which joins nothing there"],
    ["\u2800", "must not contain blank filler characters (U+2800)"],
  ])("refuses a new gate named %j: drawn blank or as another name's twin", async (index, message) => {
    const e = await refuseInvisibleNames({ ...names, index, reranker: "bge" }, "g1", store(false)).then(
      () => null,
      (x: unknown) => x as AppError,
    );
    expect(e?.details).toEqual([{ path: "index", message }]);
    expect(e?.message).toBe(`a new gate's names must be readable: index ${message}`);
  });

  it("keeps names that only look unusual: accents after a letter, emoji with variation selectors, Korean text", async () => {
    for (const index of ["caf\u0065\u0301", "docs \u2764\ufe0f", "\ud55c\uad6d\uc5b4", "e\u0301t\u00e9"])
      await expect(refuseInvisibleNames({ ...names, index, reranker: "bge" }, "g1", store(false)), index).resolves.toBeUndefined();
  });

  it("lets a gate stored before the rule be calibrated again under its names; joiners are no invisible characters", async () => {
    await expect(refuseInvisibleNames(names, "g1", store(true))).resolves.toBeUndefined();
    // an index version the gate already serves under is kept; a new one is refused, on an old gate too
    await expect(refuseInvisibleNames({ ...names, index_version: "v2\u200b" }, "g1", store(true, ["v2\u200b"]))).resolves.toBeUndefined();
    const fresh = await refuseInvisibleNames({ ...names, index_version: "v3\u200b" }, "g1", store(true)).then(
      () => null,
      (x: unknown) => x as AppError,
    );
    expect(fresh?.details).toEqual([{ path: "index_version", message: "must not contain invisible format characters (U+200B)" }]);
    const persian = { index: "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", embedding: "e5", reranker: "bge", index_version: "v1" };
    await expect(refuseInvisibleNames(persian, "g2", store(false))).resolves.toBeUndefined();
  });
});
