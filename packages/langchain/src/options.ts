import { checkStepOptions } from "@scoregate/client/adapter";

/** The constructor's check of its options: the step's (@scoregate/client/adapter), then this adapter's own. */
// biome-ignore lint/suspicious/noExplicitAny: the options as a JavaScript caller may pass them, each field checked
export function checkOptions(o: any): void {
  checkStepOptions(o, "ScoregateCompressor");
  if (o.scoreKey !== undefined && (typeof o.scoreKey !== "string" || o.scoreKey === ""))
    throw new TypeError("ScoregateCompressor: options.scoreKey must be a non-empty string (the metadata key of the score)");
  if (o.onWarning !== undefined && typeof o.onWarning !== "function")
    throw new TypeError("ScoregateCompressor: options.onWarning must be a function");
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
