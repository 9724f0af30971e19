#!/usr/bin/env node
/**
 * A small RAG search service: retrieve, rerank, then let scoregate's gate decide which candidates go into the
 * context, through the LangChain.js adapter. It reports what the gate did (batched observations), and it keeps
 * answering with the last threshold it knew when scoregate is unreachable (then with the fallback below, if it never
 * knew one).
 *
 *   SCOREGATE_URL=http://localhost:8787 SCOREGATE_TOKEN=dev-read PORT=3000 node server.mjs
 *   curl "http://localhost:3000/search?q=how+do+refunds+work"
 *
 * GET /search?q=  the kept passages with their scores, the threshold, the calibration and why (reason)
 * GET /stats      the client's observation counters
 * GET /healthz    200 while the process runs (scoregate being down does not make this service unhealthy)
 *
 * One line per search goes to stdout; SIGTERM or SIGINT flushes the queued observations and exits.
 */
import { createServer } from "node:http";
import { ScoregateClient } from "@scoregate/client";
import { addUserAgentProduct } from "@scoregate/client/adapter";
import { ScoregateCompressor } from "@scoregate/langchain";
import { GATE, KeywordRetriever, StubReranker } from "./pipeline.mjs";

/** Until scoregate first answers (a cold start while it is down), keep what this reranker score keeps. */
const FALLBACK_THRESHOLD = 0.2;

const scoregate = new ScoregateClient({
  baseUrl: process.env.SCOREGATE_URL ?? "http://localhost:8787",
  token: process.env.SCOREGATE_TOKEN ?? "dev-read",
  timeoutMs: 1000,
});
addUserAgentProduct(scoregate, "rag-service-example/0.1.0");
// Whether scoregate ever answered this process: until it has, a search runs on FALLBACK_THRESHOLD, not on a last known one.
let answered = false;
scoregate.subscribe((event) => {
  if (event.type === "calibration") {
    answered = true;
    console.log(`scoregate: serving calibration ${event.calibrationId} (threshold ${event.threshold})`);
  } else if (event.type === "error")
    console.log(
      `scoregate: ${event.error.message}; searches go on with ${answered ? "the last known threshold" : `the fallback ${FALLBACK_THRESHOLD} until scoregate first answers`}`,
    );
  else if (event.type === "recovered") console.log("scoregate: reachable again");
});

const retriever = new KeywordRetriever();
const reranker = new StubReranker();

async function search(query) {
  const candidates = await retriever.invoke(query);
  const reranked = await reranker.compressDocuments(candidates, query);
  // One compressor per search, so that its onResult hands this search's decision (threshold, calibration, reason)
  // back to this request; in a ContextualCompressionRetriever pipeline one shared compressor would log it instead.
  let decision;
  const kept = await new ScoregateCompressor({
    client: scoregate,
    gate: GATE,
    fallback: FALLBACK_THRESHOLD,
    onResult: (result) => {
      decision = result;
    },
  }).compressDocuments(reranked, query);
  return {
    query,
    kept: kept.map((d) => ({ id: d.id, score: d.metadata.relevanceScore, text: d.pageContent })),
    candidates: reranked.length,
    threshold: decision.threshold,
    calibration_id: decision.calibrationId,
    reason: decision.reason,
    ...(decision.error ? { error: decision.error.message } : {}),
  };
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const send = (status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === "/healthz") return send(200, { ok: true });
  if (url.pathname === "/stats") return send(200, scoregate.observationStats());
  if (url.pathname !== "/search") return send(404, { error: "GET /search?q=..." });
  const query = url.searchParams.get("q") ?? "";
  if (query.trim() === "") return send(400, { error: "q is required" });
  const r = await search(query);
  console.log(
    `search ${JSON.stringify(query)}: kept ${r.kept.length} of ${r.candidates} at threshold ${r.threshold} (${r.calibration_id ?? "no calibration"}, ${r.reason}${r.error ? `: ${r.error}` : ""})`,
  );
  send(200, r);
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(
    `rag-service listening on http://127.0.0.1:${server.address().port} (scoregate ${process.env.SCOREGATE_URL ?? "http://localhost:8787"})`,
  );
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    server.close();
    const { stats } = await scoregate.close();
    console.log(`rag-service stopped: observations sent ${stats.sent}, queued ${stats.queued}, rejected ${stats.rejected}`);
    process.exit(0);
  });
}
