/**
 * @scoregate/langchain: a LangChain.js document compressor that applies a scoregate gate to reranked documents. Put
 * it after a reranker (for example in a DocumentCompressorPipeline inside a ContextualCompressionRetriever): it reads
 * the score the reranker wrote to `metadata.relevanceScore` (configurable), applies the gate through @scoregate/client's
 * `gate()` (`score >= threshold` within the calibration's guards, nothing when the query abstains) and reports the
 * query's counts. With the `shadow` option it sits on a retriever of the new index version instead (shadow evaluation):
 * it reports the mirrored query for the gate's shadow calibrations through `shadow()`
 * (`@scoregate/client/shadow`) and returns the documents unchanged.
 */
import type { Callbacks } from "@langchain/core/callbacks/manager";
import type { DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import type { GateKey, GateResult, ScoregateClient } from "@scoregate/client";
import { shadow } from "@scoregate/client/shadow";
// package.json is read at build time: the bundler inlines this one field.
import { version } from "../package.json";

export interface ScoregateCompressorOptions {
  client: ScoregateClient;
  gate: GateKey;
  /** The threshold until scoregate first answers, and for an uncalibrated gate (null keeps everything). */
  fallback: number | null;
  /** Metadata key of the reranker score (default `relevanceScore`, the key LangChain.js rerankers write). */
  scoreKey?: string;
  /** Documents without a numeric score are kept (default) or dropped. */
  unscored?: "keep" | "drop";
  /** Report each query's counts (default true). */
  report?: boolean;
  /** Also send the scores as the production score sample (default false). */
  reportScores?: boolean;
  /** Wait at most this long for a first answer (default: the client's timeout). */
  timeoutMs?: number;
  /**
   * The stable key of who asks (a user or session id, from your request context): during a guarded promotion it
   * decides the arm the query is served and reported under (docs/clients.md, "Promotions, arms and shadows").
   */
  assignmentKey?: (query: string) => string | undefined;
  /**
   * Called with every decision (threshold, guards, calibration, reason, kept and dropped), for logging. An abstaining
   * query (no good answer in the corpus) returns no documents: `result.abstain` is true and `result.abstainReason`
   * says why, so the application can answer "I don't know" instead of prompting on noise.
   */
  onResult?: (result: GateResult<DocumentInterface>, query: string) => void;
}

/**
 * A compressor on the MIRRORED retriever (the new index version's, queried for the queries `shadowsFor()` named):
 * it reports each query's documents for the gate's shadow calibrations whose sample takes the key (`shadow()`,
 * `role: "shadow"`; both from `@scoregate/client/shadow`) and returns the documents unchanged. Nothing is gated or
 * reported as production.
 */
export interface ScoregateShadowCompressorOptions {
  client: ScoregateClient;
  /** The production gate, as the production compressor names it (its shadows are the candidates). */
  gate: GateKey;
  /** Metadata key of the reranker score (default `relevanceScore`). */
  scoreKey?: string;
  shadow: {
    /** The query's stable key, the one `shadowsFor()` was asked with; undefined: the query is not reported. */
    key: (query: string) => string | undefined;
    /** The index version the mirrored retriever searches: only its shadows are reported (default: every shadow). */
    indexVersion?: string;
  };
  /** Called with the shadow calibrations the query was reported for (none: not sampled, or no key), for logging. */
  onShadow?: (calibrationIds: string[], query: string) => void;
}

export class ScoregateCompressor extends BaseDocumentCompressor {
  readonly #o: ScoregateCompressorOptions | ScoregateShadowCompressorOptions;
  readonly #scoreKey: string;

  constructor(options: ScoregateCompressorOptions | ScoregateShadowCompressorOptions) {
    super();
    this.#o = options;
    this.#scoreKey = options.scoreKey ?? "relevanceScore";
    options.client.addUserAgentProduct(`scoregate-langchain/${version}`);
  }

  /**
   * Keeps the documents the gate keeps (scored at or above the threshold, at least the top `minKeep`, at most
   * `maxKeep`), in their order; none when the query abstains. With `shadow`: every document, unchanged, after
   * reporting the mirrored query. Never throws for scoregate's sake.
   */
  async compressDocuments(documents: DocumentInterface[], query: string, _callbacks?: Callbacks): Promise<DocumentInterface[]> {
    const key = this.#scoreKey;
    const o = this.#o;
    const score = (d: DocumentInterface) => {
      const s = d.metadata?.[key];
      return typeof s === "number" ? s : undefined;
    };
    if ("shadow" in o) {
      const k = o.shadow.key(query);
      const v = o.shadow.indexVersion;
      const ids =
        k === undefined ? [] : await shadow(o.client, documents, { gate: o.gate, score, key: k, ...(v === undefined ? {} : { indexVersion: v }) });
      o.onShadow?.(ids, query);
      return documents;
    }
    const result = await o.client.gate(documents, {
      gate: o.gate,
      fallback: o.fallback,
      score,
      ...(o.unscored === undefined ? {} : { unscored: o.unscored }),
      ...(o.report === undefined ? {} : { report: o.report }),
      ...(o.reportScores === undefined ? {} : { reportScores: o.reportScores }),
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      ...withKey(o.assignmentKey?.(query)),
    });
    o.onResult?.(result, query);
    return result.kept;
  }
}

const withKey = (assignmentKey: string | undefined) => (assignmentKey === undefined ? {} : { assignmentKey });
