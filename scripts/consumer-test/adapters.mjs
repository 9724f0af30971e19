// Each adapter inside its real framework, from the installed tarballs, against a local scoregate. Run by
// scripts/consumer-test.mjs in a project with the framework at the lowest and at the newest version of the
// adapter's peer range (environment: SCOREGATE_URL, GATE, EXPECT_THRESHOLD, EXPECT_CALIBRATION).
import assert from "node:assert/strict";
import { Document } from "@langchain/core/documents";
import { BaseRetriever as LangChainRetriever } from "@langchain/core/retrievers";
import { Settings } from "@llamaindex/core/global";
import { MockLLM } from "@llamaindex/core/llms/mock";
import { RetrieverQueryEngine } from "@llamaindex/core/query-engine";
import { getResponseSynthesizer } from "@llamaindex/core/response-synthesizers";
import { BaseRetriever as LlamaIndexRetriever } from "@llamaindex/core/retriever";
import { TextNode } from "@llamaindex/core/schema";
import { OpenFeature, StandardResolutionReasons } from "@openfeature/server-sdk";
import { ScoregateClient } from "@scoregate/client";
import { ScoregateCompressor } from "@scoregate/langchain";
import { ScoregatePostprocessor } from "@scoregate/llamaindex";
import { ScoregateProvider } from "@scoregate/openfeature";

const gate = JSON.parse(process.env.GATE);
const threshold = Number(process.env.EXPECT_THRESHOLD);
const calibrationId = process.env.EXPECT_CALIBRATION;
const baseUrl = process.env.SCOREGATE_URL;
const scores = [threshold + 0.2, threshold - 0.2, threshold, threshold - 0.01];

// OpenFeature: a number flag per gate; the provider makes its own client and closes it with OpenFeature.
await OpenFeature.setProviderAndWait(new ScoregateProvider({ client: { baseUrl, token: "dev-read" }, gates: { "rag.threshold": gate } }));
const details = await OpenFeature.getClient().getNumberDetails("rag.threshold", 0.99);
assert.equal(details.value, threshold);
assert.equal(details.variant, calibrationId);
assert.ok([StandardResolutionReasons.STATIC, StandardResolutionReasons.CACHED].includes(details.reason), details.reason);
await OpenFeature.close();

const client = new ScoregateClient({ baseUrl, token: "dev-read" });

// LangChain.js: the compressor after a retriever whose documents carry the reranker's relevanceScore.
class Reranked extends LangChainRetriever {
  lc_namespace = ["scoregate", "consumer-test"];
  async _getRelevantDocuments() {
    return scores.map((relevanceScore, i) => new Document({ id: `d${i}`, pageContent: `passage ${i}`, metadata: { relevanceScore } }));
  }
}
const compressor = new ScoregateCompressor({ client, gate, fallback: 0.99 });
const documents = await compressor.compressDocuments(await new Reranked().invoke("q"), "q");
assert.deepEqual(
  documents.map((d) => d.id),
  ["d0", "d2"],
);

// LlamaIndex.TS: the postprocessor in a RetrieverQueryEngine with a stub retriever and the mock LLM.
class StubRetriever extends LlamaIndexRetriever {
  async _retrieve() {
    return scores.map((score, i) => ({ node: new TextNode({ id_: `n${i}`, text: `passage ${i}` }), score }));
  }
}
const llm = new MockLLM({ responseMessage: "an answer", timeBetweenToken: 0 });
const engine = Settings.withLLM(
  llm,
  () =>
    new RetrieverQueryEngine(new StubRetriever(), getResponseSynthesizer("compact", { llm }), [
      new ScoregatePostprocessor({ client, gate, fallback: 0.99 }),
    ]),
);
const response = await engine.query({ query: "q" });
assert.deepEqual(
  response.sourceNodes.map((n) => n.node.id_),
  ["n0", "n2"],
);

assert.match(client.userAgent, /^scoregate-llamaindex\/\S+ scoregate-langchain\/\S+ scoregate-client\/\S+$/u);
const closed = await client.close();
assert.deepEqual([closed.failedBatches, closed.stats.sent], [0, 2]);
console.log(
  JSON.stringify({ node: process.version, openfeature: details.reason, langchain: documents.length, llamaindex: response.sourceNodes.length }),
);
