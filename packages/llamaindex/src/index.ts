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
import { type GateStepOptions, gateStep, type ShadowStepOptions } from "@scoregate/client/adapter";
// package.json is read at build time: the bundler inlines this one field.
import { version } from "../package.json";

/**
 * The production postprocessor: gates the nodes (`gateStep` of `@scoregate/client/adapter`, whose options these are,
 * with LlamaIndex's nodes and query). `onResult` gets every decision; an abstaining query (no good answer in the
 * corpus) returns no nodes, and `result.abstainReason` says why.
 */
export interface ScoregatePostprocessorOptions extends GateStepOptions<NodeWithScore, MessageContent | undefined> {
  /** Nodes without a numeric score are kept (default) or dropped. A score of 0 is a score. */
  unscored?: "keep" | "drop";
}

/**
 * A postprocessor in the MIRRORED query engine (the new index version's, queried for the queries `shadowsFor()`
 * named): it reports each query's nodes for the gate's shadow calibrations whose sample takes the key (`shadow()`,
 * `role: "shadow"`; both from `@scoregate/client/shadow`) and returns the nodes unchanged. Nothing is gated or reported
 * as production.
 */
export type ScoregateShadowPostprocessorOptions = ShadowStepOptions<MessageContent | undefined>;

export class ScoregatePostprocessor implements BaseNodePostprocessor {
  readonly #o: ScoregatePostprocessorOptions | ScoregateShadowPostprocessorOptions;

  constructor(options: ScoregatePostprocessorOptions | ScoregateShadowPostprocessorOptions) {
    this.#o = options;
    options.client.addUserAgentProduct(`scoregate-llamaindex/${version}`);
  }

  /**
   * Keeps the nodes the gate keeps (scored at or above the threshold, at least the top `minKeep`, at most `maxKeep`),
   * in their order; none when the query abstains. With `shadow`: every node, unchanged, after reporting the mirrored
   * query. Never throws for scoregate's sake.
   */
  async postprocessNodes(nodes: NodeWithScore[], query?: MessageContent): Promise<NodeWithScore[]> {
    // `typeof`, not truthiness: a score of exactly 0 must be compared, not treated as missing.
    return gateStep(this.#o, nodes, query, (n) => (typeof n.score === "number" ? n.score : undefined));
  }
}
