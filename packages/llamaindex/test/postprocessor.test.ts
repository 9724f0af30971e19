// ScoregatePostprocessor inside LlamaIndex.TS: a RetrieverQueryEngine (from @llamaindex/core, the class the
// `llamaindex` package re-exports) over a stub retriever, answering with the mock LLM. No network.
import { Settings } from "@llamaindex/core/global";
import { MockLLM } from "@llamaindex/core/llms/mock";
import type { BaseNodePostprocessor } from "@llamaindex/core/postprocessor";
import { RetrieverQueryEngine } from "@llamaindex/core/query-engine";
import { getResponseSynthesizer } from "@llamaindex/core/response-synthesizers";
import { BaseRetriever } from "@llamaindex/core/retriever";
import { type NodeWithScore, TextNode } from "@llamaindex/core/schema";
import { type GateResult, ScoregateClient } from "@scoregate/client";
import { describe, expect, it } from "vitest";
import { createRng, error, fakeServer, ok, thresholdBody, userAgentWith } from "../../client/test/fake-server";
import llamaindexPackage from "../package.json";
import { ScoregatePostprocessor } from "../src";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };

class StubRetriever extends BaseRetriever {
  constructor(readonly scores: (number | undefined)[]) {
    super();
  }
  async _retrieve(): Promise<NodeWithScore[]> {
    return this.scores.map((score, i) => {
      const node = new TextNode({ id_: `n${i}`, text: `passage ${i}` });
      return score === undefined ? { node } : { node, score };
    });
  }
}

function serving(threshold: number | null) {
  return fakeServer((req) =>
    req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(thresholdBody("cal_0000000001", threshold)),
  );
}

/** A calibration with guards and an abstention cutoff: at least the top 1, at most 2, abstain below 0.4. */
function servingGuarded(threshold: number) {
  const body = thresholdBody("cal_0000000001", threshold, { guards: { min_keep: 1, max_keep: 2 }, abstain_below: 0.4 });
  return fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(body)));
}

function client(server: ReturnType<typeof fakeServer>) {
  const rng = createRng(13);
  return new ScoregateClient({
    baseUrl: "https://scoregate.test",
    token: "t",
    fetch: server.fetch,
    random: () => rng.next(),
    observations: { timer: false },
  });
}

function engine(scores: (number | undefined)[], postprocessor: BaseNodePostprocessor) {
  const llm = new MockLLM({ responseMessage: "an answer", timeBetweenToken: 0 });
  return Settings.withLLM(
    llm,
    () => new RetrieverQueryEngine(new StubRetriever(scores), getResponseSynthesizer("compact", { llm }), [postprocessor]),
  );
}

describe("ScoregatePostprocessor", () => {
  it("in a RetrieverQueryEngine: the answer's source nodes are those scored >= threshold, and the counts are reported", async () => {
    const server = serving(0.5);
    const c = client(server);
    const results: GateResult<NodeWithScore>[] = [];
    const qe = engine([0.9, 0.2, 0.5, 0.49, 0.7], new ScoregatePostprocessor({ client: c, gate, fallback: 0.1, onResult: (r) => results.push(r) }));
    const response = await qe.query({ query: "what is a score gate?" });
    expect(response.sourceNodes!.map((n) => n.node.id_)).toEqual(["n0", "n2", "n4"]);
    expect(response.message.content).toBe("an answer");
    expect(results[0]).toMatchObject({ threshold: 0.5, calibrationId: "cal_0000000001", reason: "calibrated" });
    await c.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({ calibration_id: "cal_0000000001", queries: [[5, 2]] });
  });

  it("a score of exactly 0 is compared, not treated as missing (threshold 0 keeps it)", async () => {
    const c = client(serving(0));
    const qe = engine([0, -0.1, undefined], new ScoregatePostprocessor({ client: c, gate, fallback: 0.1 }));
    expect((await qe.retrieve("q")).map((n) => n.node.id_)).toEqual(["n0", "n2"]);
    const strict = engine([0, -0.1, undefined], new ScoregatePostprocessor({ client: c, gate, fallback: 0.1, unscored: "drop" }));
    expect((await strict.retrieve("q")).map((n) => n.node.id_)).toEqual(["n0"]);
  });

  it("a numeric string score is unscored (kept by default, never compared); without a fallback nothing is dropped", async () => {
    const nodes = [0.9, "0.05", 0.2].map((score, i) => ({ node: new TextNode({ id_: `n${i}`, text: `p${i}` }), score }) as NodeWithScore);
    const results: GateResult<NodeWithScore>[] = [];
    const warnings: string[] = [];
    const pp = new ScoregatePostprocessor({
      client: client(serving(0.5)),
      gate,
      fallback: 0.1,
      onResult: (r) => results.push(r),
      onWarning: (m) => warnings.push(m),
    });
    expect((await pp.postprocessNodes(nodes)).map((n) => n.node.id_)).toEqual(["n0", "n1"]);
    expect(results[0]).toMatchObject({ unscored: 1 });
    expect(warnings).toEqual([expect.stringContaining('NodeWithScore.score is a string ("0.05") on 1 of 3 nodes')]);
    // From JavaScript, the fallback the types require can be missing: an uncalibrated gate then keeps every node.
    const options = { client: client(fakeServer(() => error(404, "uncalibrated"))), gate, onWarning: () => {} };
    const noFallback = new ScoregatePostprocessor(options as unknown as ConstructorParameters<typeof ScoregatePostprocessor>[0]);
    expect(await noFallback.postprocessNodes(nodes)).toHaveLength(3);
  });

  it("applies the served guards, and an abstaining query leaves no source nodes with the reason in onResult", async () => {
    const c = client(servingGuarded(0.8));
    const results: GateResult<NodeWithScore>[] = [];
    const pp = new ScoregatePostprocessor({ client: c, gate, fallback: 0.1, onResult: (r) => results.push(r) });
    // min_keep 1 keeps the top node although the threshold drops all; max_keep 2 caps a query that clears it.
    expect((await engine([0.5, 0.7, 0.6], pp).retrieve("q")).map((n) => n.node.id_)).toEqual(["n1"]);
    expect((await engine([0.9, 0.85, 0.95], pp).retrieve("q")).map((n) => n.node.id_)).toEqual(["n0", "n2"]);
    const response = await engine([0.3, 0.1], pp).query({ query: "a question the corpus cannot answer" });
    expect(response.sourceNodes).toEqual([]);
    expect(results.map((r) => r.abstain)).toEqual([false, false, true]);
    expect(results[2]).toMatchObject({ abstainReason: "top score 0.3 is below abstain_below 0.4", guards: { minKeep: 1, maxKeep: 2 } });
  });

  it("scoregate down: the fallback applies and nothing throws; uncalibrated with a null fallback keeps everything", async () => {
    const down = client(fakeServer(() => "network-error"));
    const pp = new ScoregatePostprocessor({ client: down, gate, fallback: 0.6 });
    expect((await pp.postprocessNodes((await new StubRetriever([0.9, 0.5]).retrieve("q")) as NodeWithScore[])).map((n) => n.node.id_)).toEqual([
      "n0",
    ]);
    expect(down.observationStats().queued).toBe(0);
    const uncal = client(fakeServer(() => error(404, "uncalibrated")));
    expect(
      await new ScoregatePostprocessor({ client: uncal, gate, fallback: null }).postprocessNodes(await new StubRetriever([0.9, 0.1]).retrieve("q")),
    ).toHaveLength(2);
  });
});

describe("User-Agent", () => {
  it("the postprocessor names itself in front of the client: scoregate-llamaindex/<version>", async () => {
    const userAgent = await userAgentWith((c) => new ScoregatePostprocessor({ client: c, gate, fallback: null }));
    expect(userAgent).toMatch(new RegExp(`^scoregate-llamaindex/${llamaindexPackage.version} scoregate-client/`, "u"));
  });
});

describe("ScoregatePostprocessor during a promotion", () => {
  /** A server whose rollout serves every keyed request the candidate (v2, threshold 0.8); the control serves 0.5. */
  const promotionServer = () => {
    const candidate = {
      calibration_id: "cal_0000000002",
      index_version: "v2",
      threshold: 0.8,
      expected_drop_rate: 0.3,
      guards: { min_keep: 0, max_keep: null },
      abstain_below: null,
    };
    const body = thresholdBody("cal_0000000001", 0.5, {
      rollout: { promotion_id: "prm_1", step: 2, percent_bp: 10_000, salt: "prm_1", state: "running", candidate },
    });
    const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(body)));
    return { server, c: client(server) };
  };

  it("serves the query its arm by assignmentKey and reports the promotion with the counts", async () => {
    const { server, c } = promotionServer();
    const results: GateResult<NodeWithScore>[] = [];
    const post = new ScoregatePostprocessor({ client: c, gate, fallback: 0.1, assignmentKey: () => "user-7", onResult: (r) => results.push(r) });
    const kept = await post.postprocessNodes(await new StubRetriever([0.9, 0.6, 0.3]).retrieve("q"));
    expect(kept.map((n) => n.score)).toEqual([0.9]);
    expect(results[0]).toMatchObject({ calibrationId: "cal_0000000002", promotion: { id: "prm_1", step: 2, arm: "candidate" } });
    await c.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({ calibration_id: "cal_0000000002", promotion: { arm: "candidate" } });
  });

  it("gates with served, a function of the query answering the answer its retriever was chosen by", async () => {
    const { server, c } = promotionServer();
    const t = await c.getThreshold(gate, { fallback: 0.1, assignmentKey: "user-7" });
    const post = new ScoregatePostprocessor({ client: c, gate, fallback: 0.1, served: () => t });
    const kept = await post.postprocessNodes(await new StubRetriever([0.9, 0.6, 0.3]).retrieve("q"));
    expect(kept.map((n) => n.score)).toEqual([0.9]);
    await c.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({ calibration_id: "cal_0000000002", promotion: { arm: "candidate" } });
  });
});

describe("ScoregatePostprocessor with shadow (in the mirrored query engine)", () => {
  it("reports the mirrored query for the shadows of its index version and returns the nodes unchanged", async () => {
    const shadowOf = (calibration_id: string, index_version: string) => ({
      calibration_id,
      index_version,
      threshold: 0.6,
      expected_drop_rate: 0.3,
      guards: { min_keep: 0, max_keep: null },
      abstain_below: null,
      sample_rate: 1,
      since_seq: 3,
    });
    const body = thresholdBody("cal_0000000001", 0.5, { shadows: [shadowOf("cal_0000000002", "v2"), shadowOf("cal_0000000003", "v3")] });
    const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(body)));
    const c = client(server);
    const seen: [string[], unknown][] = [];
    const post = new ScoregatePostprocessor({
      client: c,
      gate,
      shadow: { key: (q) => (q === "what is a score gate?" ? "session-1" : undefined), indexVersion: "v2" },
      onShadow: (ids, q) => seen.push([ids, q]),
    });
    const response = await engine([0.9, 0.5, 0.7], post).query({ query: "what is a score gate?" });
    expect(response.sourceNodes!.map((n) => [n.node.id_, n.score])).toEqual([
      ["n0", 0.9],
      ["n1", 0.5],
      ["n2", 0.7],
    ]);
    // a query without a key is not reported, and still gets every node
    const nodes = await new StubRetriever([0.1, 0.2]).retrieve("q");
    expect(await post.postprocessNodes(nodes, "unkeyed")).toEqual(nodes);
    expect(seen).toEqual([
      [["cal_0000000002"], "what is a score gate?"],
      [[], "unkeyed"],
    ]);
    await c.flush();
    const batches = server.observationRequests().map((r) => r.body);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ calibration_id: "cal_0000000002", role: "shadow", queries: [[3, 1]] });
  });
});
