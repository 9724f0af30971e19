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
import { addUserAgentProduct, type GateStepOptions, gateStep, type ShadowStepOptions } from "@scoregate/client/adapter";
// package.json is read at build time: the bundler inlines this one field.
import { version } from "../package.json";
import { checkOptions, scoreKeyProblem } from "./options";

/**
 * The production compressor: gates the documents (`gateStep` of `@scoregate/client/adapter`, whose options these are,
 * with LangChain's documents and the query string). `onResult` gets every decision; an abstaining query (no good answer
 * in the corpus) returns no documents, and `result.abstainReason` says why.
 */
export interface ScoregateCompressorOptions extends GateStepOptions<DocumentInterface, string> {
  /** Metadata key of the reranker score (default `relevanceScore`, the key LangChain.js rerankers write). */
  scoreKey?: string;
  /** Documents without a numeric score are kept (default) or dropped. */
  unscored?: "keep" | "drop";
  /**
   * Told once per compressor, for each kind, when no document of a query has `metadata[scoreKey]` (a typo, or no
   * reranker before the compressor) or a score is a string (never coerced): such documents are unscored. Default
   * `console.warn`.
   */
  onWarning?: (message: string) => void;
}

/**
 * A compressor on the MIRRORED retriever (the new index version's, queried for the queries `shadowsFor()` named):
 * it reports each query's documents for the gate's shadow calibrations whose sample takes the key (`shadow()`,
 * `role: "shadow"`; both from `@scoregate/client/shadow`) and returns the documents unchanged. Nothing is gated or
 * reported as production.
 */
export interface ScoregateShadowCompressorOptions extends ShadowStepOptions<string> {
  /** Metadata key of the reranker score (default `relevanceScore`). */
  scoreKey?: string;
  /** As for the production compressor: a missing score key or string scores, told once each. */
  onWarning?: (message: string) => void;
}

export class ScoregateCompressor extends BaseDocumentCompressor {
  readonly #o: ScoregateCompressorOptions | ScoregateShadowCompressorOptions;
  readonly #scoreKey: string;
  /** The kinds of warning already told (once each per compressor: a pipeline runs it on every query). */
  readonly #warned = new Set<string>();

  /** Throws TypeError for options that cannot work (no client, a gate without embedding or reranker, ...). */
  constructor(options: ScoregateCompressorOptions | ScoregateShadowCompressorOptions) {
    super();
    checkOptions(options);
    this.#o = options;
    this.#scoreKey = options.scoreKey ?? "relevanceScore";
    addUserAgentProduct(options.client, `scoregate-langchain/${version}`);
  }

  /**
   * Keeps the documents the gate keeps (scored at or above the threshold, at least the top `minKeep`, at most
   * `maxKeep`), in their order; none when the query abstains. With `shadow`: every document, unchanged, after
   * reporting the mirrored query. Never throws for scoregate's sake.
   */
  async compressDocuments(documents: DocumentInterface[], query: string, _callbacks?: Callbacks): Promise<DocumentInterface[]> {
    const key = this.#scoreKey;
    // Read defensively: a JavaScript caller or another compressor may hand over anything but an array.
    const problem = Array.isArray(documents) ? scoreKeyProblem(documents, key) : undefined;
    if (problem !== undefined && !this.#warned.has(problem.kind)) {
      this.#warned.add(problem.kind);
      try {
        (this.#o.onWarning ?? console.warn)(problem.message);
      } catch {
        // A logger's bug must not fail the query.
      }
    }
    return gateStep(this.#o, documents, query, (d) => {
      const s = d.metadata?.[key];
      return typeof s === "number" ? s : undefined;
    });
  }
}
