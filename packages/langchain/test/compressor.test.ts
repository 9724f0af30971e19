// ScoregateCompressor inside LangChain.js: a ContextualCompressionRetriever over a FakeRetriever, alone and after a
// reranker in a DocumentCompressorPipeline. No network: a scripted scoregate server.
import { ContextualCompressionRetriever } from "@langchain/classic/retrievers/contextual_compression";
import { DocumentCompressorPipeline } from "@langchain/classic/retrievers/document_compressors";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { FakeRetriever } from "@langchain/core/utils/testing";
import { type GateResult, ScoregateClient } from "@scoregate/client";
import { describe, expect, it } from "vitest";
import { createRng, error, fakeServer, ok, thresholdBody, userAgentWith } from "../../client/test/fake-server";
import langchainPackage from "../package.json";
import { ScoregateCompressor } from "../src";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };

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
  const rng = createRng(9);
  return new ScoregateClient({
    baseUrl: "https://scoregate.test",
    token: "t",
    fetch: server.fetch,
    random: () => rng.next(),
    observations: { timer: false },
  });
}

const docs = (scores: (number | undefined)[], key = "relevanceScore") =>
  scores.map((s, i) => new Document({ pageContent: `passage ${i}`, metadata: s === undefined ? { id: i } : { id: i, [key]: s } }));

/** A stand-in for a cross-encoder reranker: writes metadata.relevanceScore as LangChain.js rerankers do. */
class FakeReranker extends BaseDocumentCompressor {
  async compressDocuments(documents: DocumentInterface[]): Promise<DocumentInterface[]> {
    return documents.map((d) => new Document({ pageContent: d.pageContent, metadata: { ...d.metadata, relevanceScore: d.metadata.raw } }));
  }
}

describe("ScoregateCompressor", () => {
  it("inside ContextualCompressionRetriever: keeps relevanceScore >= threshold, in order, and reports the counts", async () => {
    const server = serving(0.5);
    const c = client(server);
    const results: GateResult<DocumentInterface>[] = [];
    const retriever = new ContextualCompressionRetriever({
      baseCompressor: new ScoregateCompressor({ client: c, gate, fallback: 0.1, onResult: (r) => results.push(r) }),
      baseRetriever: new FakeRetriever({ output: docs([0.9, 0.2, 0.5, 0.49, 0.7]) }),
    });
    const out = await retriever.invoke("what is a score gate?");
    expect(out.map((d) => d.metadata.id)).toEqual([0, 2, 4]);
    expect(results[0]).toMatchObject({ threshold: 0.5, calibrationId: "cal_0000000001", reason: "calibrated" });
    await c.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({ calibration_id: "cal_0000000001", queries: [[5, 2]] });
  });

  it("after a reranker in a DocumentCompressorPipeline", async () => {
    const c = client(serving(0.3));
    const retriever = new ContextualCompressionRetriever({
      baseCompressor: new DocumentCompressorPipeline({
        transformers: [new FakeReranker(), new ScoregateCompressor({ client: c, gate, fallback: 0.1 })],
      }),
      baseRetriever: new FakeRetriever({
        output: [0.1, 0.35, 0.3, 0.0].map((raw, i) => new Document({ pageContent: `p${i}`, metadata: { id: i, raw } })),
      }),
    });
    expect((await retriever.invoke("q")).map((d) => d.metadata.id)).toEqual([1, 2]);
  });

  it("a configurable score key, a score of 0, and unscored documents (kept by default, dropped on request)", async () => {
    const c = client(serving(0));
    const keep = new ScoregateCompressor({ client: c, gate, fallback: 0.1, scoreKey: "score" });
    expect((await keep.compressDocuments(docs([0, -0.5, undefined], "score"), "q")).map((d) => d.metadata.id)).toEqual([0, 2]);
    const drop = new ScoregateCompressor({ client: c, gate, fallback: 0.1, scoreKey: "score", unscored: "drop" });
    expect((await drop.compressDocuments(docs([0, -0.5, undefined], "score"), "q")).map((d) => d.metadata.id)).toEqual([0]);
  });

  it("scoregate down: the fallback threshold applies, nothing is reported, nothing throws", async () => {
    const server = fakeServer(() => "network-error");
    const c = client(server);
    const results: GateResult<DocumentInterface>[] = [];
    const compressor = new ScoregateCompressor({ client: c, gate, fallback: 0.6, onResult: (r) => results.push(r) });
    expect((await compressor.compressDocuments(docs([0.9, 0.5]), "q")).map((d) => d.metadata.id)).toEqual([0]);
    expect(results[0]).toMatchObject({ reason: "fallback", calibrationId: null, error: { code: "network" } });
    expect(c.observationStats().queued).toBe(0);
  });

  it("applies the served guards, and an abstaining query returns no documents with the reason in onResult", async () => {
    const server = servingGuarded(0.8);
    const c = client(server);
    const results: GateResult<DocumentInterface>[] = [];
    const compressor = new ScoregateCompressor({ client: c, gate, fallback: 0.1, onResult: (r) => results.push(r) });
    // min_keep 1 keeps the top document although the threshold drops all; max_keep 2 caps a query that clears it.
    expect((await compressor.compressDocuments(docs([0.5, 0.7, 0.6]), "q")).map((d) => d.metadata.id)).toEqual([1]);
    expect((await compressor.compressDocuments(docs([0.9, 0.85, 0.95]), "q")).map((d) => d.metadata.id)).toEqual([0, 2]);
    expect(await compressor.compressDocuments(docs([0.3, 0.1]), "q")).toEqual([]);
    expect(results.map((r) => r.abstain)).toEqual([false, false, true]);
    expect(results[2]).toMatchObject({ abstainReason: "top score 0.3 is below abstain_below 0.4", guards: { minKeep: 1, maxKeep: 2 } });
    await c.flush();
    // [candidates, dropped before abstention, below the threshold, abstained] (the abstaining query's top document is guarded).
    expect(server.observationRequests()[0]!.body).toMatchObject({
      queries: [
        [3, 2, 3, 0],
        [3, 1, 0, 0],
        [2, 1, 2, 1],
      ],
    });
  });

  it("an uncalibrated gate applies the fallback (null keeps everything)", async () => {
    const c = client(fakeServer(() => error(404, "uncalibrated")));
    const compressor = new ScoregateCompressor({ client: c, gate, fallback: null });
    expect(await compressor.compressDocuments(docs([0.9, 0.1]), "q")).toHaveLength(2);
  });

  it("a numeric string in the metadata is unscored (kept by default, never compared), as in the SDK", async () => {
    const c = client(serving(0.5));
    const results: GateResult<DocumentInterface>[] = [];
    const stringly = [0.9, "0.05", 0.2].map((s, i) => new Document({ pageContent: `p${i}`, metadata: { id: i, relevanceScore: s } }));
    const warnings: string[] = [];
    const compressor = new ScoregateCompressor({
      client: c,
      gate,
      fallback: 0.1,
      onResult: (r) => results.push(r),
      onWarning: (m) => warnings.push(m),
    });
    expect((await compressor.compressDocuments(stringly, "q")).map((d) => d.metadata.id)).toEqual([0, 1]);
    expect(results[0]).toMatchObject({ unscored: 1 });
    expect(warnings).toEqual([expect.stringContaining('metadata.relevanceScore is a string ("0.05") on 1 of 3 documents')]);
  });

  it("from JavaScript without a fallback: an uncalibrated gate keeps every document (null), none are dropped", async () => {
    const c = client(fakeServer(() => error(404, "uncalibrated")));
    const results: GateResult<DocumentInterface>[] = [];
    const options = { client: c, gate, onResult: (r: GateResult<DocumentInterface>) => results.push(r) };
    const compressor = new ScoregateCompressor(options as unknown as ConstructorParameters<typeof ScoregateCompressor>[0]);
    expect(await compressor.compressDocuments(docs([0.9, 0.1]), "q")).toHaveLength(2);
    expect(results[0]).toMatchObject({ reason: "uncalibrated", threshold: null });
  });
});

describe("User-Agent", () => {
  it("the compressor names itself in front of the client: scoregate-langchain/<version>", async () => {
    const userAgent = await userAgentWith((c) => new ScoregateCompressor({ client: c, gate, fallback: null }));
    expect(userAgent).toMatch(new RegExp(`^scoregate-langchain/${langchainPackage.version} scoregate-client/`, "u"));
  });
});

describe("ScoregateCompressor during a promotion", () => {
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
    const results: GateResult<DocumentInterface>[] = [];
    const compressor = new ScoregateCompressor({ client: c, gate, fallback: 0.1, assignmentKey: () => "user-7", onResult: (r) => results.push(r) });
    const kept = await compressor.compressDocuments(docs([0.9, 0.6, 0.3]), "q");
    expect(kept.map((d) => d.metadata.id)).toEqual([0]);
    expect(results[0]).toMatchObject({ calibrationId: "cal_0000000002", promotion: { id: "prm_1", step: 2, arm: "candidate" } });
    await c.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({ calibration_id: "cal_0000000002", promotion: { arm: "candidate" } });
  });

  it("gates with served, the answer the retriever was chosen by, in a compressor made for the request", async () => {
    const { server, c } = promotionServer();
    // the request: the user's arm picks the index version to retrieve from (v2), and the compressor gates with it
    const t = await c.getThreshold(gate, { fallback: 0.1, assignmentKey: "user-7" });
    expect(t.indexVersion).toBe("v2");
    const compressor = new ScoregateCompressor({ client: c, gate, fallback: 0.1, served: t });
    const kept = await compressor.compressDocuments(docs([0.9, 0.6, 0.3]), "q");
    expect(kept.map((d) => d.metadata.id)).toEqual([0]);
    await c.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({ calibration_id: "cal_0000000002", promotion: { arm: "candidate" } });
    expect(() => new ScoregateCompressor({ client: c, gate, fallback: 0.1, served: 0.8 as never })).toThrow(/options\.served must be/u);
  });
});

describe("ScoregateCompressor with shadow (on the mirrored retriever)", () => {
  it("reports the mirrored query for the shadows of its index version and returns the documents unchanged", async () => {
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
    const seen: [string[], string][] = [];
    const keys: Record<string, string> = { "what is a score gate?": "session-1" };
    const mirrored = docs([0.9, 0.5, 0.7]);
    const retriever = new ContextualCompressionRetriever({
      baseCompressor: new ScoregateCompressor({
        client: c,
        gate,
        shadow: { key: (q) => keys[q], indexVersion: "v2" },
        onShadow: (ids, q) => seen.push([ids, q]),
      }),
      baseRetriever: new FakeRetriever({ output: mirrored }),
    });
    const out = await retriever.invoke("what is a score gate?");
    expect(out.map((d) => [d.pageContent, d.metadata])).toEqual(mirrored.map((d) => [d.pageContent, d.metadata]));
    // a query without a key is not reported, and still gets every document
    expect(await retriever.invoke("unkeyed")).toHaveLength(3);
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
