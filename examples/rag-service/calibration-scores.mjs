#!/usr/bin/env node
/**
 * Prints the reranker scores of the sample queries as CSV (query_id, doc_id, score): what an index rebuild uploads to
 * calibrate the gate.
 *
 *   node calibration-scores.mjs > scores.csv
 *   npx scoregate calibrate scores.csv --index rag-example --embedding stub-embedding-v1 \
 *     --reranker stub-reranker-v1 --index-version v1 --target 0.5
 */
import { KeywordRetriever, SAMPLE_QUERIES, StubReranker } from "./pipeline.mjs";

const retriever = new KeywordRetriever();
const reranker = new StubReranker();
const rows = ["query_id,doc_id,score"];
for (const [i, query] of SAMPLE_QUERIES.entries()) {
  const reranked = await reranker.compressDocuments(await retriever.invoke(query), query);
  for (const d of reranked) rows.push(`q${i + 1},${d.id},${d.metadata.relevanceScore}`);
}
process.stdout.write(`${rows.join("\n")}\n`);
