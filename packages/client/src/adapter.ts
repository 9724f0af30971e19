/**
 * @scoregate/client/adapter: what a framework adapter does with one retrieval step, written once for all of them (the
 * LangChain.js compressor and the LlamaIndex.TS postprocessor use it; so can an adapter of your own). A production step
 * gates the items through the client's `gate()` and hands the decision to `onResult`; a shadow step (the `shadow`
 * option, on the mirrored retriever of a new index version) reports the mirrored query for the gate's shadow
 * calibrations through `shadow()` and returns the items unchanged. docs/clients.md, "Writing an adapter".
 */
import { isScored } from "../../../src/stats/guard-rule";
import type { ScoregateClient } from "./client";
import { shadow } from "./shadow";
import type { GateKey, GateResult, ThresholdResult } from "./types";

/**
 * Reads each candidate's score as `gate()` does: a score function that throws leaves its candidate unscored (for an
 * adapter that applies a rule itself, such as a flag evaluated without the server).
 */
export { scoresOf } from "./client";

/**
 * The caller's fallback as `gate()` applies it: a number (NaN excepted), else null, which keeps everything. A
 * JavaScript caller can omit the fallback or pass a string; neither drops every candidate nor is coerced (for an
 * adapter that applies a fallback itself, such as a flag that names no gate).
 */
export const fallbackOf = (fallback: unknown): number | null => (isScored(fallback) ? fallback : null);

const isText = (v: unknown): v is string => typeof v === "string" && v !== "";

/** An HTTP product (RFC 9110, section 10.1.5): a token, optionally `/` and a version token. */
const PRODUCT = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\/[!#$%&'*+.^_`|~0-9A-Za-z-]+)?$/u;

/**
 * Names an integration in the `User-Agent` of every request the client sends, in front of what is there
 * (`scoregate-langchain/0.1.0 scoregate-client/0.1.0`), so the server's logs tell which integration called. The
 * adapters add themselves; an application may add its own (`my-rag/2.3`). Adding a product twice changes nothing.
 * Throws TypeError for a value that is not an HTTP product (`name` or `name/version`, token characters only). In its
 * own entry with the adapters' step, so a service that names nothing does not carry it.
 */
export function addUserAgentProduct(client: ScoregateClient, product: string): void {
  if (typeof product !== "string" || !PRODUCT.test(product))
    throw new TypeError(`ScoregateClient: ${JSON.stringify(product)} is not an HTTP product such as "my-service/1.2"`);
  const userAgent = client.userAgent;
  if (!userAgent.split(" ").includes(product)) client._internals()[3](`${product} ${userAgent}`);
}

/** A value in a message: its JSON, or what JSON cannot write (undefined, a bigint, a cycle) said another way. */
function shown(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v === "bigint" ? `${v}n` : Object.prototype.toString.call(v);
  }
}

/**
 * The check an adapter's constructor makes of its step options (`owner` names the adapter in the messages): a
 * JavaScript caller (or a config read from a file) can pass anything, and a wrong option would otherwise surface on the
 * first query as "Cannot read properties of undefined", or never (a gate without a reranker reads as every query
 * answering the fallback). Each mistake throws a TypeError naming the option; the adapter checks its own options after.
 */
// biome-ignore lint/suspicious/noExplicitAny: the options as a JavaScript caller may pass them, each field checked below
export function checkStepOptions(o: any, owner: string): void {
  const fail = (what: string) => {
    throw new TypeError(`${owner}: ${what}`);
  };
  if (typeof o !== "object" || o === null) fail("options are required: { client, gate, fallback }");
  // Duck-typed: an application may hold a client from another copy of @scoregate/client.
  const c = o.client;
  if (typeof c?.gate !== "function" || typeof c._internals !== "function")
    fail("options.client must be a ScoregateClient (new ScoregateClient({ baseUrl, token }))");
  const g = o.gate;
  if (typeof g !== "object" || g === null || !isText(g.embedding) || !isText(g.reranker))
    fail(`options.gate must name a gate: { embedding, reranker, index? } (got ${shown(o.gate)})`);
  for (const k of ["index", "indexVersion"] as const)
    if (g?.[k] !== undefined && !isText(g?.[k])) fail(`options.gate.${k} must be a non-empty string when given`);
  // `shadow: undefined` is no shadow option, as gateStep reads it
  if (o.shadow !== undefined) {
    if (typeof o.shadow?.key !== "function") fail("options.shadow.key must be a function of the query answering its stable key");
    // A shadow step gates nothing: production options beside `shadow` (copied from the production step) would read as
    // a gate that is applied while every item passes and nothing is reported as production.
    const production = PRODUCTION_OPTIONS.filter((k) => o[k] !== undefined);
    if (production.length > 0)
      fail(
        `options.shadow makes a shadow step, which returns every item and reports the mirrored query only: it takes no ${production.join(", ")}. Gate production with a step of its own, without shadow`,
      );
    return;
  }
  if (o.unscored !== undefined && o.unscored !== "keep" && o.unscored !== "drop") fail(`options.unscored must be "keep" or "drop"`);
  // A config read from the environment or a file holds strings: "0.1" would read as no fallback (keep everything),
  // "no" as reporting on, "2000" as waiting the client's timeout.
  if (o.fallback != null && typeof o.fallback !== "number") fail(`options.fallback must be a number or null (got ${shown(o.fallback)})`);
  for (const k of ["report", "reportScores"])
    if (o[k] !== undefined && typeof o[k] !== "boolean") fail(`options.${k} must be true or false (got ${shown(o[k])})`);
  if (o.timeoutMs !== undefined && !(typeof o.timeoutMs === "number" && o.timeoutMs >= 0))
    fail(`options.timeoutMs must be a number of ms from 0 (got ${shown(o.timeoutMs)})`);
  for (const k of ["onResult", "assignmentKey"]) if (o[k] !== undefined && typeof o[k] !== "function") fail(`options.${k} must be a function`);
  if (o.served !== undefined && typeof o.served !== "function" && (typeof o.served !== "object" || o.served === null))
    fail("options.served must be the getThreshold() answer the query was retrieved under, or a function of the query answering it");
}

/** The options only a production step takes (a shadow step refuses them). */
const PRODUCTION_OPTIONS = ["fallback", "unscored", "report", "reportScores", "timeoutMs", "assignmentKey", "served", "onResult"] as const;

/** The options of a production step: the gate, its fallback, and what `gate()` takes; `Q` is the framework's query. */
export interface GateStepOptions<T, Q> {
  client: ScoregateClient;
  gate: GateKey;
  /**
   * The threshold until scoregate first answers, and for an uncalibrated gate (null keeps everything; so does a value
   * that is not a number, such as an omitted fallback in JavaScript).
   */
  fallback: number | null;
  /** Items without a numeric score are kept (default) or dropped. A score of 0 is a score. */
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
  assignmentKey?: (query: Q) => string | undefined;
  /**
   * The `getThreshold()` answer the query's items were retrieved under (`gate()`'s `served`), or a function of the
   * query answering it (undefined: read the threshold as without it). During a promotion to a calibration of another
   * index version, the application picks the retriever by the answer's `indexVersion`; this gates the items with that
   * answer and reports them under its arm, instead of reading the threshold again (whose arm could be the other
   * index's). Per request: `new ScoregateCompressor({ ..., served: t })`, or a function over your request context.
   */
  served?: ThresholdResult | ((query: Q) => ThresholdResult | undefined);
  /**
   * Called with every decision (threshold, guards, calibration, reason, kept and dropped), for logging. An abstaining
   * query (no good answer in the corpus) keeps no items: `result.abstain` is true and `result.abstainReason` says why,
   * so the application can answer "I don't know" instead of prompting on noise.
   */
  onResult?: (result: GateResult<T>, query: Q) => void;
  /** A production step has no `shadow` (ShadowStepOptions: a step on the mirrored retriever). */
  shadow?: never;
}

/**
 * The options of a shadow step, on the MIRRORED retriever (the new index version's, queried for the queries
 * `shadowsFor()` named): nothing is gated or reported as production.
 */
export interface ShadowStepOptions<Q> {
  client: ScoregateClient;
  /** The production gate, as the production step names it (its shadows are the candidates). */
  gate: GateKey;
  shadow: {
    /** The query's stable key, the one `shadowsFor()` was asked with; undefined: the query is not reported. */
    key: (query: Q) => string | undefined;
    /** The index version the mirrored retriever searches: only its shadows are reported (default: every shadow). */
    indexVersion?: string;
  };
  /** Called with the shadow calibrations the query was reported for (none: not sampled, or no key), for logging. */
  onShadow?: (calibrationIds: string[], query: Q) => void;
  /** A shadow step gates nothing, so it takes no fallback (nor any other production option: checkStepOptions). */
  fallback?: never;
}

/**
 * One retrieval step: with `shadow` in the options, reports the mirrored query and returns `items` unchanged;
 * otherwise returns the items the gate keeps (scored at or above the threshold, at least the top `minKeep`, at most
 * `maxKeep`), in their order, none when the query abstains. `score` reads an item's reranker score (undefined: unscored).
 * Never throws for scoregate's sake.
 */
export async function gateStep<T, Q>(
  o: GateStepOptions<T, Q> | ShadowStepOptions<Q>,
  items: T[],
  query: Q,
  score: (item: T) => number | undefined,
): Promise<T[]> {
  if (o.shadow !== undefined) {
    const key = o.shadow.key(query);
    const v = o.shadow.indexVersion;
    const ids = key === undefined ? [] : await shadow(o.client, items, { gate: o.gate, score, key, ...(v === undefined ? {} : { indexVersion: v }) });
    o.onShadow?.(ids, query);
    return items;
  }
  const assignmentKey = o.assignmentKey?.(query);
  const served = typeof o.served === "function" ? o.served(query) : o.served;
  const result = await o.client.gate(items, {
    gate: o.gate,
    fallback: o.fallback,
    score,
    ...(o.unscored === undefined ? {} : { unscored: o.unscored }),
    ...(o.report === undefined ? {} : { report: o.report }),
    ...(o.reportScores === undefined ? {} : { reportScores: o.reportScores }),
    ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    ...(assignmentKey === undefined ? {} : { assignmentKey }),
    ...(served === undefined ? {} : { served }),
  });
  o.onResult?.(result, query);
  return result.kept;
}
