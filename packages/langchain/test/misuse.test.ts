// ScoregateCompressor given what a user gets wrong: options that cannot work throw a TypeError naming the option at
// construction (not "Cannot read properties of undefined" on the first query), and the two silent data mistakes (a
// score key no document has, scores written as strings) are told once per compressor. No network.
import { Document } from "@langchain/core/documents";
import { ScoregateClient } from "@scoregate/client";
import { describe, expect, it, vi } from "vitest";
import { fakeServer, ok, thresholdBody } from "../../client/test/fake-server";
import { ScoregateCompressor } from "../src";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };

function client() {
  const server = fakeServer((req) =>
    req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(thresholdBody("cal_0000000001", 0.5)),
  );
  return new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
}

const docs = (metadata: Record<string, unknown>[]) =>
  metadata.map((m, i) => new Document({ pageContent: `passage ${i}`, metadata: { id: i, ...m } }));

describe("ScoregateCompressor misuse", () => {
  it("options that cannot work throw a TypeError naming the option", () => {
    const c = client();
    const make = (o: unknown) => () => new ScoregateCompressor(o as never);
    expect(make(undefined)).toThrow(new TypeError("ScoregateCompressor: options are required: { client, gate, fallback }"));
    expect(make({ gate, fallback: 0.1 })).toThrow(/options\.client must be a ScoregateClient/u);
    expect(make({ client: { baseUrl: "x" }, gate, fallback: 0.1 })).toThrow(/options\.client must be a ScoregateClient/u);
    expect(make({ client: c, fallback: 0.1 })).toThrow(/options\.gate must name a gate: \{ embedding, reranker, index\? \} \(got undefined\)/u);
    expect(make({ client: c, gate: { index: "docs", embedding: "e5" }, fallback: 0.1 })).toThrow(/options\.gate must name a gate.*"embedding":"e5"/u);
    expect(make({ client: c, gate: { ...gate, indexVersion: 2 }, fallback: 0.1 })).toThrow(/options\.gate\.indexVersion must be a non-empty string/u);
    expect(make({ client: c, gate, fallback: 0.1, scoreKey: "" })).toThrow(/options\.scoreKey must be a non-empty string/u);
    expect(make({ client: c, gate, fallback: 0.1, unscored: "skip" })).toThrow(/options\.unscored must be "keep" or "drop"/u);
    // a config read from the environment holds strings: each would be read as another option than meant
    expect(make({ client: c, gate, fallback: "0.1" })).toThrow(/options\.fallback must be a number or null \(got "0\.1"\)/u);
    expect(make({ client: c, gate, fallback: 0.1, report: "no" })).toThrow(/options\.report must be true or false \(got "no"\)/u);
    expect(make({ client: c, gate, fallback: 0.1, reportScores: 1 })).toThrow(/options\.reportScores must be true or false/u);
    expect(make({ client: c, gate, fallback: 0.1, timeoutMs: "2000" })).toThrow(/options\.timeoutMs must be a number of ms from 0 \(got "2000"\)/u);
    expect(make({ client: c, gate, fallback: 0.1, timeoutMs: null })).toThrow(/options\.timeoutMs must be a number/u);
    // what JSON cannot write is said all the same (a bigint once threw "Do not know how to serialize a BigInt")
    expect(make({ client: c, gate, fallback: 1n })).toThrow(/options\.fallback must be a number or null \(got 1n\)/u);
    expect(make({ client: c, gate: { embedding: 1n, reranker: "r" }, fallback: 0.1 })).toThrow(
      /options\.gate must name a gate: .* \(got \[object Object\]\)/u,
    );
    expect(make({ client: c, gate, fallback: null, report: false, timeoutMs: 0 })).not.toThrow();
    expect(make({ client: c, gate, fallback: 0.1, onResult: "log" })).toThrow(/options\.onResult must be a function/u);
    expect(make({ client: c, gate, shadow: { indexVersion: "v2" } })).toThrow(/options\.shadow\.key must be a function/u);
    // a shadow step gates nothing: production options copied beside `shadow` would read as a gate that passes everything
    expect(make({ client: c, gate, fallback: 0.1, onResult: () => {}, shadow: { key: () => "k" } })).toThrow(
      /options\.shadow makes a shadow step, which returns every item and reports the mirrored query only: it takes no fallback, onResult\. Gate production with a step of its own, without shadow/u,
    );
    expect(make({ client: c, gate, fallback: 0.1, scoreKey: "score", unscored: "drop" })).not.toThrow();
    // shadow: undefined is no shadow option (as a step reads it): a production step
    expect(make({ client: c, gate, fallback: 0.1, shadow: undefined })).not.toThrow();
  });

  it("the types refuse production options beside shadow, as the constructor does", () => {
    const c = client();
    const shadowed = () =>
      // @ts-expect-error a shadow step gates nothing: it takes no fallback
      new ScoregateCompressor({ client: c, gate, fallback: 0.1, shadow: { key: () => "k" } });
    expect(shadowed).toThrow(TypeError);
    expect(() => new ScoregateCompressor({ client: c, gate, shadow: { key: () => "k" } })).not.toThrow();
  });

  it("a score key no document has is told once, with the keys the documents do have; the documents stay unscored", async () => {
    const warnings: string[] = [];
    const results: number[] = [];
    const compressor = new ScoregateCompressor({
      client: client(),
      gate,
      fallback: 0.1,
      scoreKey: "relevance_score",
      onWarning: (m) => warnings.push(m),
      onResult: (r) => results.push(r.unscored),
    });
    const batch = docs([{ relevanceScore: 0.9 }, { relevanceScore: 0.1 }]);
    expect(await compressor.compressDocuments(batch, "q")).toHaveLength(2);
    expect(await compressor.compressDocuments(batch, "q")).toHaveLength(2);
    expect(results).toEqual([2, 2]);
    expect(warnings).toEqual([
      'ScoregateCompressor: none of the 2 documents has metadata.relevance_score (their metadata keys: id, relevanceScore): every one is unscored (kept unless unscored: "drop"). Check scoreKey, and that the compressor comes after a reranker.',
    ]);
  });

  it("string scores are told once; documents where only some lack the key, and an empty list, tell nothing", async () => {
    const warnings: string[] = [];
    const compressor = new ScoregateCompressor({ client: client(), gate, fallback: 0.1, onWarning: (m) => warnings.push(m) });
    expect(await compressor.compressDocuments(docs([{ relevanceScore: 0.9 }, {}]), "q")).toHaveLength(2);
    expect(await compressor.compressDocuments([], "q")).toEqual([]);
    expect(warnings).toEqual([]);
    expect(await compressor.compressDocuments(docs([{ relevanceScore: "0.9" }, { relevanceScore: 0.1 }]), "q")).toHaveLength(1);
    expect(await compressor.compressDocuments(docs([{ relevanceScore: "0.2" }]), "q")).toHaveLength(1);
    expect(warnings).toEqual([
      'ScoregateCompressor: metadata.relevanceScore is a string ("0.9") on 1 of 2 documents: scores are never coerced, so those documents are unscored (kept unless unscored: "drop"); write numbers.',
    ]);
  });

  it("warns on the console by default, and a warning sink that throws does not fail the query", async () => {
    const spy = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const byDefault = new ScoregateCompressor({ client: client(), gate, fallback: 0.1, scoreKey: "score" });
      expect(await byDefault.compressDocuments(docs([{ relevanceScore: 0.9 }]), "q")).toHaveLength(1);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(String(spy.mock.calls[0]?.[0])).toMatch(/none of the 1 documents has metadata\.score/u);
    } finally {
      spy.mockRestore();
    }
    const throwing = new ScoregateCompressor({
      client: client(),
      gate,
      fallback: 0.1,
      scoreKey: "score",
      onWarning: () => {
        throw new Error("logger down");
      },
    });
    expect(await throwing.compressDocuments(docs([{ relevanceScore: 0.9 }]), "q")).toHaveLength(1);
  });

  it("documents that are not an array (a retriever's null on its own failure) keep none instead of throwing; a mirror returns them", async () => {
    const c = client();
    const results: unknown[] = [];
    const production = new ScoregateCompressor({ client: c, gate, fallback: 0.1, onResult: (r) => results.push(r) });
    for (const bad of [undefined, null, {}]) expect(await production.compressDocuments(bad as never, "q")).toEqual([]);
    expect(results).toMatchObject([{ error: { code: "bad_request" } }, { error: { code: "bad_request" } }, { error: { code: "bad_request" } }]);
    const mirror = new ScoregateCompressor({ client: c, gate, shadow: { key: () => "session-1" } });
    expect(await mirror.compressDocuments(null as never, "q")).toBeNull();
    expect(c.observationStats().queued).toBe(0);
  });
});
