/**
 * The constructor's check of its options: a JavaScript caller (or a config read from a file) can pass anything, and a
 * wrong option would otherwise surface on the first query as "Cannot read properties of undefined", or never (a gate
 * without a reranker reads as every query answering the fallback). Each mistake throws a TypeError naming the option.
 */
const isText = (v: unknown): v is string => typeof v === "string" && v !== "";

// biome-ignore lint/suspicious/noExplicitAny: the options as a JavaScript caller may pass them, each field checked below
export function checkOptions(o: any): void {
  const fail = (what: string) => {
    throw new TypeError(`ScoregateCompressor: ${what}`);
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
  if (o.scoreKey !== undefined && !isText(o.scoreKey)) fail("options.scoreKey must be a non-empty string (the metadata key of the score)");
  if (o.onWarning !== undefined && typeof o.onWarning !== "function") fail("options.onWarning must be a function");
  if ("shadow" in o) {
    if (typeof o.shadow?.key !== "function") fail("options.shadow.key must be a function of the query answering its stable key");
    return;
  }
  if (o.unscored !== undefined && o.unscored !== "keep" && o.unscored !== "drop") fail(`options.unscored must be "keep" or "drop"`);
  for (const k of ["onResult", "assignmentKey"]) if (o[k] !== undefined && typeof o[k] !== "function") fail(`options.${k} must be a function`);
}

/**
 * What a query's documents say about the score key, for the two mistakes that otherwise pass silently (every
 * document kept as unscored): a key no document has (a typo such as `relevance_score`, or no reranker before the
 * compressor), and scores written as strings (never coerced). Undefined: nothing to say.
 */
export function scoreKeyProblem(
  documents: readonly { metadata?: Record<string, unknown> }[],
  key: string,
): { kind: "missing" | "string"; message: string } | undefined {
  if (documents.length === 0) return undefined;
  const strings = documents.map((d) => d.metadata?.[key]).filter((v) => typeof v === "string");
  if (strings.length > 0)
    return {
      kind: "string",
      message:
        `ScoregateCompressor: metadata.${key} is a string (${JSON.stringify(strings[0])}) on ${strings.length} of ${documents.length} ` +
        'documents: scores are never coerced, so those documents are unscored (kept unless unscored: "drop"); write numbers.',
    };
  if (documents.some((d) => d.metadata !== undefined && Object.hasOwn(d.metadata, key))) return undefined;
  const present = [...new Set(documents.flatMap((d) => Object.keys(d.metadata ?? {})))].slice(0, 10);
  return {
    kind: "missing",
    message:
      `ScoregateCompressor: none of the ${documents.length} documents has metadata.${key} ` +
      `(their metadata keys: ${present.length > 0 ? present.join(", ") : "none"}): every one is unscored ` +
      '(kept unless unscored: "drop"). Check scoreKey, and that the compressor comes after a reranker.',
  };
}
