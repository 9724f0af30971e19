// ScoregatePostprocessor given what a user gets wrong: options that cannot work throw a TypeError naming the option
// at construction (not "Cannot read properties of undefined" on the first query), and the two silent data mistakes
// (no node scored, scores written as strings) are told once per postprocessor. No network.
import { type NodeWithScore, TextNode } from "@llamaindex/core/schema";
import { ScoregateClient } from "@scoregate/client";
import { describe, expect, it, vi } from "vitest";
import { fakeServer, ok, thresholdBody } from "../../client/test/fake-server";
import { ScoregatePostprocessor } from "../src";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };

function client() {
  const server = fakeServer((req) =>
    req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(thresholdBody("cal_0000000001", 0.5)),
  );
  return new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
}

const nodes = (scores: unknown[]) =>
  scores.map((score, i) => {
    const node = new TextNode({ id_: `n${i}`, text: `passage ${i}` });
    return (score === undefined ? { node } : { node, score }) as NodeWithScore;
  });

describe("ScoregatePostprocessor misuse", () => {
  it("options that cannot work throw a TypeError naming the option", () => {
    const c = client();
    const make = (o: unknown) => () => new ScoregatePostprocessor(o as never);
    expect(make(undefined)).toThrow(new TypeError("ScoregatePostprocessor: options are required: { client, gate, fallback }"));
    expect(make({ gate, fallback: 0.1 })).toThrow(/options\.client must be a ScoregateClient/u);
    expect(make({ client: c, fallback: 0.1 })).toThrow(/options\.gate must name a gate: \{ embedding, reranker, index\? \} \(got undefined\)/u);
    expect(make({ client: c, gate: { embedding: "e5", reranker: "" }, fallback: 0.1 })).toThrow(/options\.gate must name a gate/u);
    expect(make({ client: c, gate: { ...gate, index: 3 }, fallback: 0.1 })).toThrow(/options\.gate\.index must be a non-empty string/u);
    expect(make({ client: c, gate, fallback: 0.1, unscored: true })).toThrow(/options\.unscored must be "keep" or "drop"/u);
    // a config read from the environment holds strings: each would be read as another option than meant
    expect(make({ client: c, gate, fallback: "0.1" })).toThrow(/options\.fallback must be a number or null \(got "0\.1"\)/u);
    expect(make({ client: c, gate, fallback: 0.1, report: "no" })).toThrow(/options\.report must be true or false \(got "no"\)/u);
    expect(make({ client: c, gate, fallback: 0.1, reportScores: 1 })).toThrow(/options\.reportScores must be true or false/u);
    expect(make({ client: c, gate, fallback: 0.1, timeoutMs: "2000" })).toThrow(/options\.timeoutMs must be a number of ms from 0 \(got "2000"\)/u);
    expect(make({ client: c, gate, fallback: 0.1, timeoutMs: null })).toThrow(/options\.timeoutMs must be a number/u);
    expect(make({ client: c, gate, fallback: null, report: false, timeoutMs: 0 })).not.toThrow();
    expect(make({ client: c, gate, fallback: 0.1, assignmentKey: "user" })).toThrow(/options\.assignmentKey must be a function/u);
    expect(make({ client: c, gate, shadow: {} })).toThrow(/options\.shadow\.key must be a function/u);
    // a shadow step gates nothing: production options copied beside `shadow` would read as a gate that passes everything
    expect(make({ client: c, gate, fallback: 0.1, assignmentKey: () => "u", shadow: { key: () => "k" } })).toThrow(
      /it takes no fallback, assignmentKey\. Gate production with a step of its own, without shadow/u,
    );
    expect(make({ client: c, gate, fallback: 0.1, unscored: "drop" })).not.toThrow();
  });

  it("no node scored, and string scores, are each told once; partly scored nodes and an empty list tell nothing", async () => {
    const warnings: string[] = [];
    const pp = new ScoregatePostprocessor({ client: client(), gate, fallback: 0.1, onWarning: (m) => warnings.push(m) });
    expect(await pp.postprocessNodes(nodes([0.9, undefined]), "q")).toHaveLength(2);
    expect(await pp.postprocessNodes([], "q")).toEqual([]);
    expect(warnings).toEqual([]);
    expect(await pp.postprocessNodes(nodes([undefined, undefined]), "q")).toHaveLength(2);
    expect(await pp.postprocessNodes(nodes([undefined]), "q")).toHaveLength(1);
    expect(await pp.postprocessNodes(nodes(["0.9", 0.1]), "q")).toHaveLength(1);
    expect(await pp.postprocessNodes(nodes(["0.1"]), "q")).toHaveLength(1);
    expect(warnings).toEqual([
      'ScoregatePostprocessor: none of the 2 nodes has a score: every one is unscored (kept unless unscored: "drop"). Put the postprocessor after the reranker (or a retriever that scores).',
      'ScoregatePostprocessor: NodeWithScore.score is a string ("0.9") on 1 of 2 nodes: scores are never coerced, so those nodes are unscored (kept unless unscored: "drop"); write numbers.',
    ]);
  });

  it("warns on the console by default, and a warning sink that throws does not fail the query", async () => {
    const spy = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const byDefault = new ScoregatePostprocessor({ client: client(), gate, fallback: 0.1 });
      expect(await byDefault.postprocessNodes(nodes([undefined]), "q")).toHaveLength(1);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(String(spy.mock.calls[0]?.[0])).toMatch(/none of the 1 nodes has a score/u);
    } finally {
      spy.mockRestore();
    }
    const throwing = new ScoregatePostprocessor({
      client: client(),
      gate,
      fallback: 0.1,
      onWarning: () => {
        throw new Error("logger down");
      },
    });
    expect(await throwing.postprocessNodes(nodes([undefined]), "q")).toHaveLength(1);
  });

  it("nodes that are not an array (a retriever's null on its own failure) keep none instead of throwing; a mirror returns them", async () => {
    const c = client();
    const results: unknown[] = [];
    const production = new ScoregatePostprocessor({ client: c, gate, fallback: 0.1, onResult: (r) => results.push(r) });
    for (const bad of [undefined, null, {}]) expect(await production.postprocessNodes(bad as never, "q")).toEqual([]);
    expect(results).toMatchObject([{ error: { code: "bad_request" } }, { error: { code: "bad_request" } }, { error: { code: "bad_request" } }]);
    const mirror = new ScoregatePostprocessor({ client: c, gate, shadow: { key: () => "session-1" } });
    expect(await mirror.postprocessNodes(null as never, "q")).toBeNull();
    expect(c.observationStats().queued).toBe(0);
  });
});
