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
import type { GateKey, GateResult, ScoregateClient } from "@scoregate/client";
import { shadow } from "@scoregate/client/shadow";
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

/**
 * A postprocessor in the MIRRORED query engine (the new index version's, queried for the queries `shadowsFor()`
 * named): it reports each query's nodes for the gate's shadow calibrations whose sample takes the key (`shadow()`,
 * `role: "shadow"`; both from `@scoregate/client/shadow`) and returns the nodes unchanged. Nothing is gated or reported
 * as production.
 */
export interface ScoregateShadowPostprocessorOptions {
  client: ScoregateClient;
  /** The production gate, as the production postprocessor names it (its shadows are the candidates). */
  gate: GateKey;
  shadow: {
    /** The query's stable key, the one `shadowsFor()` was asked with; undefined: the query is not reported. */
    key: (query: MessageContent | undefined) => string | undefined;
    /** The index version the mirrored engine searches: only its shadows are reported (default: every shadow). */
    indexVersion?: string;
  };
  /** Called with the shadow calibrations the query was reported for (none: not sampled, or no key), for logging. */
  onShadow?: (calibrationIds: string[], query: MessageContent | undefined) => void;
}

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
    const o = this.#o;
    // `typeof`, not truthiness: a score of exactly 0 must be compared, not treated as missing.
    const score = (n: NodeWithScore) => (typeof n.score === "number" ? n.score : undefined);
    if ("shadow" in o) {
      const key = o.shadow.key(query);
      const v = o.shadow.indexVersion;
      const ids =
        key === undefined ? [] : await shadow(o.client, nodes, { gate: o.gate, score, key, ...(v === undefined ? {} : { indexVersion: v }) });
      o.onShadow?.(ids, query);
      return nodes;
    }
    const result = await o.client.gate(nodes, {
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
