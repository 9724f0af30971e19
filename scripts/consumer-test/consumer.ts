// A strict TypeScript consumer: it names every public export of every package (scripts/consumer-test.mjs checks that
// against the published declarations) and is type-checked with moduleResolution nodenext and bundler, never run.
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { NodeWithScore } from "@llamaindex/core/schema";
import { OpenFeature } from "@openfeature/server-sdk";
import {
  type Arm,
  BASIS_POINTS,
  bucketOf,
  type ClientError,
  type ClientErrorCode,
  type ClientEvent,
  decideQuery,
  type FlushResult,
  type GateEvent,
  type GateEventKind,
  type GateKey,
  type GateOptions,
  type GateOutcome,
  type GateResult,
  type GetThresholdOptions,
  type GuardPolicy,
  type Guards,
  OBSERVATIONS_PATH,
  type Observation,
  type ObservationStats,
  type PromotionRef,
  type QueryDecision,
  ScoregateClient,
  type ScoregateClientOptions,
  type ServedGate,
  type ServedRollout,
  type ServedShadow,
  type ShadowOptions,
  type Snapshot,
  type SnapshotEntry,
  type StreamOptions,
  THRESHOLD_PATH,
  type ThresholdReason,
  type ThresholdResult,
} from "@scoregate/client";
import {
  addUserAgentProduct,
  checkStepOptions,
  fallbackOf,
  type GateStepOptions,
  gateStep,
  type ShadowStepOptions,
  scoresOf,
} from "@scoregate/client/adapter";
import { loadSnapshot, saveSnapshot } from "@scoregate/client/node";
import { shadow, shadowsFor } from "@scoregate/client/shadow";
import { restore, snapshot as snapshotOf } from "@scoregate/client/snapshot";
import {
  EVENTS_PATH,
  eventsUrl,
  GateStream,
  type GateStreamOptions,
  HISTORY_RESTARTED,
  type HistoryRestart,
  type HistoryRestartedEvent,
  OVERDUE_MS,
  POLL_ANSWERED,
  type SseFrame,
  SseParser,
  STREAM_DEFAULTS,
  type StreamClientEvent,
  type StreamClientOptions,
  ScoregateClient as StreamingClient,
  type StreamState,
} from "@scoregate/client/stream";
import { ScoregateCompressor, type ScoregateCompressorOptions, type ScoregateShadowCompressorOptions } from "@scoregate/langchain";
import { ScoregatePostprocessor, type ScoregatePostprocessorOptions, type ScoregateShadowPostprocessorOptions } from "@scoregate/llamaindex";
import { type FlagObservation, MAX_REMEMBERED_FLAG_GATES, ScoregateProvider, type ScoregateProviderOptions, servedBy } from "@scoregate/openfeature";

const options: ScoregateClientOptions = { baseUrl: "https://scoregate.example.workers.dev", token: "read-token", observations: { timer: false } };
const client = new ScoregateClient(options);
const gate: GateKey = { index: "docs", embedding: "e5", reranker: "bge", indexVersion: "v1" };
const paths: readonly string[] = [THRESHOLD_PATH, OBSERVATIONS_PATH];

export async function everything(candidates: readonly { id: string; score: number | undefined }[]): Promise<readonly unknown[]> {
  const thresholdOptions: GetThresholdOptions = { fallback: 0.4, timeoutMs: 500 };
  const t: ThresholdResult = await client.getThreshold(gate, thresholdOptions);
  const reason: ThresholdReason = t.reason;
  const error: ClientError | undefined = t.error;
  const code: ClientErrorCode | undefined = error?.code;
  const gateOptions: GateOptions<(typeof candidates)[number]> = { gate, fallback: 0.4, score: (c) => c.score, unscored: "drop" };
  const result: GateResult<(typeof candidates)[number]> = await client.gate(candidates, gateOptions);
  const kept: string[] = result.kept.map((c) => c.id);
  // GateResult narrows on abstain: abstainReason is a string when it is true
  const abstained: string | undefined = result.abstain ? result.abstainReason : undefined;
  const outcome: GateOutcome<(typeof candidates)[number]> = result;
  const guards: Guards = t.guards;
  const policy: GuardPolicy = { threshold: t.threshold, minKeep: guards.minKeep, maxKeep: guards.maxKeep, abstainBelow: t.abstainBelow };
  const decision: QueryDecision = decideQuery(
    candidates.map((c) => c.score),
    policy,
  );
  const observation: Observation = { calibrationId: result.calibrationId, candidates: candidates.length, dropped: result.dropped.length };
  client.report(observation);
  addUserAgentProduct(client, "consumer-test/1.0");
  const userAgent: string = client.userAgent;
  const unsubscribe = client.subscribe((event: ClientEvent) => {
    if (event.type === "calibration") console.log(event.calibrationId, event.threshold);
  });
  unsubscribe();
  const stats: ObservationStats = client.observationStats();
  const snapshot: Snapshot = await saveSnapshot(client, "/tmp/scoregate-snapshot.json");
  const entries: SnapshotEntry[] = snapshot.entries;
  const threshold: number | null | undefined = entries[0]?.response.threshold;
  const restored: Snapshot | undefined = await loadSnapshot("/tmp/scoregate-snapshot.json");
  restore(client, restored);
  const inMemory: Snapshot = snapshotOf(client);
  const flushed: FlushResult = await client.close();

  const providerOptions: ScoregateProviderOptions = { client, gates: { "rag.docs.threshold": gate } };
  const remembered: number = MAX_REMEMBERED_FLAG_GATES;
  const provider = new ScoregateProvider(providerOptions);
  await OpenFeature.setProviderAndWait(provider);
  const details = await OpenFeature.getClient().getNumberDetails("rag.docs.threshold", 0.4);
  const value: number = details.value;
  // the README's pattern: a default answer has no variant, and a report naming no calibration is not sent
  const observed: FlagObservation = { calibrationId: details.variant, candidates: 10, dropped: 3 };
  provider.report("rag.docs.threshold", observed);
  // with the promotion arm the evaluation's key was served
  provider.report("rag.docs.threshold", { ...servedBy(details), candidates: 10, dropped: 3 }, { targetingKey: "user-1" });

  const compressorOptions: ScoregateCompressorOptions = { client, gate, fallback: 0.4, onResult: (r, query) => console.log(query, r.reason) };
  const documents: DocumentInterface[] = await new ScoregateCompressor(compressorOptions).compressDocuments(
    [new Document({ pageContent: "passage", metadata: { relevanceScore: 0.7 } })],
    "query",
  );

  const postprocessorOptions: ScoregatePostprocessorOptions = { client, gate, fallback: 0.4 };
  const nodes: NodeWithScore[] = await new ScoregatePostprocessor(postprocessorOptions).postprocessNodes([]);

  // On the mirrored retriever: report the shadows' scores, return the documents unchanged.
  const shadowCompressorOptions: ScoregateShadowCompressorOptions = { client, gate, shadow: { key: (query) => query, indexVersion: "v2" } };
  const mirrored: DocumentInterface[] = await new ScoregateCompressor(shadowCompressorOptions).compressDocuments(documents, "query");
  const shadowPostprocessorOptions: ScoregateShadowPostprocessorOptions = { client, gate, shadow: { key: () => "user-1" } };
  const mirroredNodes: NodeWithScore[] = await new ScoregatePostprocessor(shadowPostprocessorOptions).postprocessNodes(nodes);

  // An adapter of one's own: the step the LangChain.js and LlamaIndex.TS adapters take.
  type Chunk = { text: string; score?: number };
  const stepOptions: GateStepOptions<Chunk, { text: string }> = { client, gate, fallback: 0.4, assignmentKey: (q) => q.text };
  checkStepOptions(stepOptions, "MyRetrieverStep"); // throws a TypeError naming a wrong option
  const chunks: Chunk[] = await gateStep(stepOptions, [{ text: "passage", score: 0.7 }], { text: "query" }, (c) => c.score);
  const shadowStep: ShadowStepOptions<{ text: string }> = { client, gate, shadow: { key: (q) => q.text }, onShadow: (ids) => console.log(ids) };
  const mirroredChunks: Chunk[] = await gateStep(shadowStep, chunks, { text: "query" }, (c) => c.score);
  // an adapter applying the rule itself reads scores as gate() does: a score function that throws leaves it unscored
  const readScores: (number | null | undefined)[] = scoresOf(chunks, (c) => c.score);
  // a fallback from configuration that is not a number keeps everything (null), as gate() treats it
  const configured: number | null = fallbackOf(process.env.SCOREGATE_FALLBACK);

  return [
    readScores,
    configured,
    paths,
    reason,
    outcome,
    code,
    kept,
    abstained,
    decision,
    stats,
    threshold,
    restored,
    inMemory,
    userAgent,
    flushed,
    value,
    remembered,
    documents,
    nodes,
    mirrored,
    mirroredNodes,
    mirroredChunks,
  ];
}

/** Promotions, shadows and pushed changes (`@scoregate/client/stream`). */
export async function promotionsAndStreams(candidates: readonly { id: string; score: number }[]): Promise<readonly unknown[]> {
  const streamOptions: StreamOptions = { readTimeoutMs: STREAM_DEFAULTS.readTimeoutMs, maxGates: 5 };
  const streamingOptions: StreamClientOptions = { baseUrl: "https://scoregate.example.workers.dev", token: "read-token", stream: streamOptions };
  const streaming = new StreamingClient(streamingOptions);
  const t: ThresholdResult = await streaming.getThreshold(gate, { fallback: 0.4, assignmentKey: "user-1" });
  const promotion: PromotionRef | undefined = t.promotion;
  const arm: Arm | undefined = promotion?.arm;
  const shadowOptions: ShadowOptions<(typeof candidates)[number]> = { gate, score: (c) => c.score, key: "user-1" };
  const sampled: ServedShadow[] = shadowsFor(streaming, gate, "user-1");
  const shadowed: string[] = await shadow(streaming, candidates, shadowOptions);
  const polled: ServedShadow[] = shadowsFor(client, gate, "user-1", { indexVersion: "v2" });
  const inArm: boolean = bucketOf("prm_1", "user-1") < BASIS_POINTS / 10;
  streaming.subscribe((e: ClientEvent) => {
    if (e.type === "gate") {
      const event: GateEvent = e.event;
      const kind: GateEventKind = event.kind;
      const rollout: ServedRollout | null | undefined = event.served?.rollout;
      const candidate: ServedGate | undefined = rollout?.candidate;
      const shadows: ServedShadow[] | undefined = event.served?.shadows;
      console.log(kind, candidate?.calibration_id, shadows?.length);
    }
  });
  // a restored server's history: the streaming client says so before it serves the server's current state
  streaming.subscribe((e: StreamClientEvent) => {
    if (e.type === "history_restarted") {
      const restarted: HistoryRestartedEvent = e;
      console.log(restarted.gate.reranker, restarted.lastSeq, restarted.headSeq);
    }
  });
  const frames: SseFrame[] = [];
  new SseParser((f) => frames.push(f)).push("event: gate\ndata: {}\n\n");
  const states: StreamState[] = [];
  const watchOptions: GateStreamOptions = {
    url: eventsUrl("https://scoregate.example.workers.dev", gate),
    headers: () => ({ authorization: "Bearer read-token" }),
    fetch,
    onEvent: (e, snapshot) => console.log(e.seq, snapshot),
    onState: (s, d) => {
      states.push(s);
      if (d.reason.startsWith(HISTORY_RESTARTED)) console.log("history restarted");
      if (d.reason === POLL_ANSWERED) console.log("back from polling");
    },
    onRestart: (r: HistoryRestart) => console.log(r.lastSeq, r.headSeq),
  };
  const watch = new GateStream(watchOptions);
  watch.close();
  await streaming.close();
  return [EVENTS_PATH, OVERDUE_MS, arm, sampled, shadowed, polled, inArm, frames, states];
}
