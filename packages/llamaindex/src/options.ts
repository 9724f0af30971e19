import { checkStepOptions } from "@scoregate/client/adapter";

/** The constructor's check of its options: the step's (@scoregate/client/adapter), then this adapter's own. */
// biome-ignore lint/suspicious/noExplicitAny: the options as a JavaScript caller may pass them, each field checked
export function checkOptions(o: any): void {
  checkStepOptions(o, "ScoregatePostprocessor");
  if (o.onWarning !== undefined && typeof o.onWarning !== "function")
    throw new TypeError("ScoregatePostprocessor: options.onWarning must be a function");
}

/**
 * What a query's nodes say about their scores, for the two mistakes that otherwise pass silently (every node kept as
 * unscored): no node has a score (no reranker or scoring retriever before the postprocessor), and scores written as
 * strings (never coerced). Undefined: nothing to say.
 */
export function scoreProblem(nodes: readonly { score?: unknown }[]): { kind: "missing" | "string"; message: string } | undefined {
  if (nodes.length === 0) return undefined;
  const strings = nodes.map((n) => n?.score).filter((v) => typeof v === "string");
  if (strings.length > 0)
    return {
      kind: "string",
      message:
        `ScoregatePostprocessor: NodeWithScore.score is a string (${JSON.stringify(strings[0])}) on ${strings.length} of ${nodes.length} ` +
        'nodes: scores are never coerced, so those nodes are unscored (kept unless unscored: "drop"); write numbers.',
    };
  if (nodes.some((n) => n?.score !== undefined && n?.score !== null)) return undefined;
  return {
    kind: "missing",
    message:
      `ScoregatePostprocessor: none of the ${nodes.length} nodes has a score: every one is unscored ` +
      '(kept unless unscored: "drop"). Put the postprocessor after the reranker (or a retriever that scores).',
  };
}
