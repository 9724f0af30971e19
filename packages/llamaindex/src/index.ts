/**
 * @scoregate/llamaindex: a LlamaIndex.TS node postprocessor that applies a scoregate gate to `NodeWithScore.score`
 * (where rerankers put their score) through @scoregate/client's `gate()`: the threshold within the calibration's
 * guards, and no nodes at all when the query abstains. Put it after the reranker in a query engine's `nodePostprocessors`. With
 * the `shadow` option it sits in the query engine of the new index version instead (shadow evaluation): it reports the
 * mirrored query for the gate's shadow calibrations through `shadow()` and returns the nodes unchanged. Only type
 * imports from LlamaIndex: the package adds nothing to an application's LlamaIndex install.
 */
import type { MessageContent } from "@llamaindex/core/llms";
import type { BaseNodePostprocessor } from "@llamaindex/core/postprocessor";
import type { NodeWithScore } from "@llamaindex/core/schema";
import { addUserAgentProduct, type GateStepOptions, gateStep, type ShadowStepOptions } from "@scoregate/client/adapter";
// package.json is read at build time: the bundler inlines this one field.
import { version } from "../package.json";
import { checkOptions, scoreProblem } from "./options";

/**
 * The production postprocessor: gates the nodes (`gateStep` of `@scoregate/client/adapter`, whose options these are,
 * with LlamaIndex's nodes and query). `onResult` gets every decision; an abstaining query (no good answer in the
 * corpus) returns no nodes, and `result.abstainReason` says why.
 */
export interface ScoregatePostprocessorOptions extends GateStepOptions<NodeWithScore, MessageContent | undefined> {
  /** Nodes without a numeric score are kept (default) or dropped. A score of 0 is a score. */
  unscored?: "keep" | "drop";
  /**
   * Told once per postprocessor, for each kind, when no node of a query has a score (no reranker before it) or a score
   * is a string (never coerced): such nodes are unscored. Default `console.warn`.
   */
  onWarning?: (message: string) => void;
}

/**
 * A postprocessor in the MIRRORED query engine (the new index version's, queried for the queries `shadowsFor()`
 * named): it reports each query's nodes for the gate's shadow calibrations whose sample takes the key (`shadow()`,
 * `role: "shadow"`; both from `@scoregate/client/shadow`) and returns the nodes unchanged. Nothing is gated or reported
 * as production.
 */
export interface ScoregateShadowPostprocessorOptions extends ShadowStepOptions<MessageContent | undefined> {
  /** As for the production postprocessor: nodes without scores or with string scores, told once each. */
  onWarning?: (message: string) => void;
}

export class ScoregatePostprocessor implements BaseNodePostprocessor {
  readonly #o: ScoregatePostprocessorOptions | ScoregateShadowPostprocessorOptions;
  /** The kinds of warning already told (once each per postprocessor: a query engine runs it on every query). */
  readonly #warned = new Set<string>();

  /** Throws TypeError for options that cannot work (no client, a gate without embedding or reranker, ...). */
  constructor(options: ScoregatePostprocessorOptions | ScoregateShadowPostprocessorOptions) {
    checkOptions(options);
    this.#o = options;
    addUserAgentProduct(options.client, `scoregate-llamaindex/${version}`);
  }

  /**
   * Keeps the nodes the gate keeps (scored at or above the threshold, at least the top `minKeep`, at most `maxKeep`),
   * in their order; none when the query abstains. With `shadow`: every node, unchanged, after reporting the mirrored
   * query. Never throws for scoregate's sake.
   */
  async postprocessNodes(nodes: NodeWithScore[], query?: MessageContent): Promise<NodeWithScore[]> {
    const problem = Array.isArray(nodes) ? scoreProblem(nodes) : undefined;
    if (problem !== undefined && !this.#warned.has(problem.kind)) {
      this.#warned.add(problem.kind);
      try {
        (this.#o.onWarning ?? console.warn)(problem.message);
      } catch {
        // A logger's bug must not fail the query.
      }
    }
    // `typeof`, not truthiness: a score of exactly 0 must be compared, not treated as missing.
    return gateStep(this.#o, nodes, query, (n) => (typeof n.score === "number" ? n.score : undefined));
  }
}
