/**
 * @scoregate/llamaindex: a LlamaIndex.TS node postprocessor that applies a scoregate gate to `NodeWithScore.score`
 * (where rerankers put their score) through @scoregate/client's `gate()`: the threshold within the calibration's
 * guards, and no nodes at all when the query abstains. Put it after the reranker in a query engine's `nodePostprocessors`. Only type
 * imports from LlamaIndex: the package adds nothing to an application's LlamaIndex install.
 */
import type { MessageContent } from "@llamaindex/core/llms";
import type { BaseNodePostprocessor } from "@llamaindex/core/postprocessor";
import type { NodeWithScore } from "@llamaindex/core/schema";
import type { GateKey, GateResult, ScoregateClient } from "@scoregate/client";
// package.json is read at build time: the bundler inlines this one field.
import { version } from "../package.json";

export interface ScoregatePostprocessorOptions {
  client: ScoregateClient;
  gate: GateKey;
  /** The threshold until scoregate first answers, and for an uncalibrated gate (null keeps everything). */
  fallback: number | null;
  /** Nodes without a numeric score are kept (default) or dropped. A score of 0 is a score. */
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
  assignmentKey?: (query: MessageContent | undefined) => string | undefined;
  /**
   * Called with every decision (threshold, guards, calibration, reason, kept and dropped), for logging. An abstaining
   * query (no good answer in the corpus) returns no nodes: `result.abstain` is true and `result.abstainReason` says
   * why, so the application can answer "I don't know" instead of prompting on noise.
   */
  onResult?: (result: GateResult<NodeWithScore>, query: MessageContent | undefined) => void;
}

export class ScoregatePostprocessor implements BaseNodePostprocessor {
  readonly #o: ScoregatePostprocessorOptions;

  constructor(options: ScoregatePostprocessorOptions) {
    this.#o = options;
    options.client.addUserAgentProduct(`scoregate-llamaindex/${version}`);
  }

  /**
   * Keeps the nodes the gate keeps (scored at or above the threshold, at least the top `minKeep`, at most `maxKeep`),
   * in their order; none when the query abstains. Never throws for scoregate's sake.
   */
  async postprocessNodes(nodes: NodeWithScore[], query?: MessageContent): Promise<NodeWithScore[]> {
    const o = this.#o;
    const result = await o.client.gate(nodes, {
      gate: o.gate,
      fallback: o.fallback,
      // `typeof`, not truthiness: a score of exactly 0 must be compared, not treated as missing.
      score: (n) => (typeof n.score === "number" ? n.score : undefined),
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
