/**
 * The constructor's check of its options: a JavaScript caller (or a config read from a file) can pass anything, and a
 * wrong option would otherwise surface on the first query as "Cannot read properties of undefined", or never (a gate
 * without a reranker reads as every query answering the fallback). Each mistake throws a TypeError naming the option.
 */

const isText = (v: unknown): v is string => typeof v === "string" && v !== "";

// biome-ignore lint/suspicious/noExplicitAny: the options as a JavaScript caller may pass them, each field checked below
export function checkOptions(o: any): void {
  const fail = (what: string) => {
    throw new TypeError(`ScoregatePostprocessor: ${what}`);
  };
  if (typeof o !== "object" || o === null) fail("options are required: { client, gate, fallback }");
  // Duck-typed: an application may hold a client from another copy of @scoregate/client.
  const c = o.client;
  if (typeof c?.gate !== "function" || typeof c.addUserAgentProduct !== "function")
    fail("options.client must be a ScoregateClient (new ScoregateClient({ baseUrl, token }))");
  const g = o.gate;
  if (typeof g !== "object" || g === null || !isText(g.embedding) || !isText(g.reranker))
    fail(`options.gate must name a gate: { embedding, reranker, index? } (got ${JSON.stringify(o.gate) ?? "undefined"})`);
  for (const k of ["index", "indexVersion"] as const)
    if (g?.[k] !== undefined && !isText(g?.[k])) fail(`options.gate.${k} must be a non-empty string when given`);
  if (o.onWarning !== undefined && typeof o.onWarning !== "function") fail("options.onWarning must be a function");
  if ("shadow" in o) {
    if (typeof o.shadow?.key !== "function") fail("options.shadow.key must be a function of the query answering its stable key");
    return;
  }
  if (o.unscored !== undefined && o.unscored !== "keep" && o.unscored !== "drop") fail(`options.unscored must be "keep" or "drop"`);
  for (const k of ["onResult", "assignmentKey"]) if (o[k] !== undefined && typeof o[k] !== "function") fail(`options.${k} must be a function`);
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
