/**
 * The silent failure made loud, for services only: a RAG service that asks for a gate with no active calibration
 * (GET /v1/threshold answered 404 uncalibrated) runs on its fallback threshold, and on-call should hear of it; a person
 * who looks a gate up and mistypes it must not page anyone. What tells them apart is persistence: a service keeps
 * asking (the SDKs re-ask at every max-age, 5 s, as long as the service runs), a person asks once or a few times.
 *
 * The rule (docs/api.md, "GET /v1/threshold"):
 * - requests from the CLI (`User-Agent: scoregate-cli/<version>`) never count: it is a person's tool, and its 404
 *   already prints the did-you-mean;
 * - every other request is a sighting of (gate, token name, minute); the alert is raised once one token has asked for
 *   the gate in UNCALIBRATED_ALERT_MIN_MINUTES distinct minutes within UNCALIBRATED_ALERT_WINDOW_MINUTES, and each later
 *   minute it keeps asking counts an occurrence. The alert names the token and the client (its User-Agent), and what
 *   the 404 told the service it may have meant (details.suggestions: calibrated gates of similar names), since an
 *   uncalibrated gate a service keeps asking for is most often a typo of a calibrated one.
 *
 * Sightings live in D1 (one row per gate, token and minute), because a service's requests reach many isolates; each
 * isolate writes a (gate, token) pair at most once a minute (UNCALIBRATED_ALERT_INTERVAL_MS), so a hot loop of 404s
 * costs D1 one small batch a minute per isolate, not one per request. src/worker/wiring.ts wires it to the serving
 * feature's onUncalibrated.
 */
import type { ThresholdQuery, UncalibratedAlertDetails } from "../contract";
import { IsolateCache } from "../platform/isolate-cache";
import {
  ISOLATE_CACHE_MAX_ENTRIES,
  MAX_ALERT_CLIENT_LENGTH,
  MAX_ALERT_SUGGESTIONS,
  MAX_OPEN_UNCALIBRATED_ALERTS,
  UNCALIBRATED_ALERT_INTERVAL_MS,
  UNCALIBRATED_ALERT_MIN_MINUTES,
  UNCALIBRATED_ALERT_WINDOW_MINUTES,
} from "../platform/limits";
import { didYouMean, type GateSuggestion } from "../serving/threshold-reader";
import type { AlertDeps } from "./deps";
import { raiseCappedAlert } from "./lifecycle";

/** Who asked: the token's name (never the token) and the client's `User-Agent`, if it sent one. */
export interface UncalibratedCaller {
  readonly token: string;
  readonly userAgent: string | null;
}

/** The minute this isolate last wrote a sighting of each (gate, token) (src/worker/isolate.ts holds the one instance). */
export const newUncalibratedMemory = (): IsolateCache<number> => new IsolateCache<number>(ISOLATE_CACHE_MAX_ENTRIES, UNCALIBRATED_ALERT_INTERVAL_MS);

/** The CLI's product name in `User-Agent` (packages/cli/src/http.ts sends `scoregate-cli/<version>`). */
const CLI_PRODUCT = "scoregate-cli";

/** Whether a `User-Agent` names the CLI among its products (RFC 9110 `product/version` tokens, comments skipped). */
export function fromPersonTool(userAgent: string | null): boolean {
  if (userAgent === null) return false;
  return userAgent.split(/\s+/u).some((product) => product.toLowerCase() === CLI_PRODUCT || product.toLowerCase().startsWith(`${CLI_PRODUCT}/`));
}

/** What became of one uncalibrated request. */
export type UncalibratedNote =
  /** From the CLI: a person's lookup, never counted. */
  | "person"
  /** This isolate already wrote this (gate, token) sighting this minute. */
  | "seen"
  /** A sighting is being written (after the response); the alert follows if the token keeps asking. */
  | "recorded";

const MINUTE_MS = 60_000;

/** Notes an uncalibrated request; the D1 write and any alert run after the response (deps.defer). */
export function noteUncalibrated(
  gateId: string,
  q: ThresholdQuery,
  caller: UncalibratedCaller,
  suggestions: readonly GateSuggestion[],
  deps: AlertDeps,
  recent: IsolateCache<number>,
): UncalibratedNote {
  if (fromPersonTool(caller.userAgent)) return "person";
  const nowMs = deps.now().getTime();
  const minute = Math.floor(nowMs / MINUTE_MS);
  const key = `${gateId}\u0000${caller.token}`;
  if (recent.get(key, nowMs) === minute) return "seen";
  recent.set(key, minute, nowMs);
  deps.defer(recordAndMaybeRaise(gateId, q, caller, suggestions, minute, deps));
  return "recorded";
}

/**
 * What the alert's details keep of the 404's suggestions, at most MAX_ALERT_SUGGESTIONS: calibrated gates of similar
 * names as `suggestions` ({index, embedding, reranker}, as GET /v1/alerts documents them); for a version of a gate
 * that exists, its active versions as `active_index_versions`. Nothing when the 404 suggested nothing.
 */
function suggestionDetails(suggestions: readonly GateSuggestion[]): Pick<UncalibratedAlertDetails, "active_index_versions" | "suggestions"> {
  const kept = suggestions.slice(0, MAX_ALERT_SUGGESTIONS);
  const versions = kept.flatMap((s) => (s.index_version === undefined ? [] : [s.index_version]));
  if (versions.length > 0) return { active_index_versions: versions };
  if (kept.length === 0) return {};
  return { suggestions: kept.map((s) => ({ index: s.index, embedding: s.embedding, reranker: s.reranker })) };
}

async function recordAndMaybeRaise(
  gateId: string,
  q: ThresholdQuery,
  caller: UncalibratedCaller,
  suggestions: readonly GateSuggestion[],
  minute: number,
  deps: AlertDeps,
): Promise<void> {
  const minutes = await deps.alerts.recordSighting({ gate_id: gateId, token: caller.token, minute }, minute - UNCALIBRATED_ALERT_WINDOW_MINUTES + 1);
  if (minutes < UNCALIBRATED_ALERT_MIN_MINUTES) return;
  const client = caller.userAgent === null || caller.userAgent === "" ? null : caller.userAgent.slice(0, MAX_ALERT_CLIENT_LENGTH);
  const version = q.index_version === undefined ? "" : ` (index_version ${q.index_version})`;
  const guess = didYouMean(q, suggestions.slice(0, MAX_ALERT_SUGGESTIONS));
  // The cap is checked inside the insert (src/alerts/d1-store.ts), so concurrent isolates cannot overshoot it.
  const raised = await raiseCappedAlert(
    {
      gate_id: gateId,
      gate: { index: q.index, embedding: q.embedding, reranker: q.reranker },
      kind: "uncalibrated_request",
      summary: `the token ${JSON.stringify(caller.token)}${client === null ? "" : ` (client ${client})`} asked for the threshold of ${q.index} / ${q.embedding} / ${q.reranker}${version} in ${minutes} different minutes of the last ${UNCALIBRATED_ALERT_WINDOW_MINUTES}, and it has no active calibration: that service is running on its fallback${guess === null ? "" : `; ${guess}`}`,
      details: {
        index_version: q.index_version ?? null,
        token: caller.token,
        client,
        minutes,
        window_minutes: UNCALIBRATED_ALERT_WINDOW_MINUTES,
        ...suggestionDetails(suggestions),
      } satisfies UncalibratedAlertDetails,
      calibration_ids: [],
    },
    deps,
    MAX_OPEN_UNCALIBRATED_ALERTS,
  );
  if (raised === null) {
    console.warn(`uncalibrated request for gate ${gateId} not raised: ${MAX_OPEN_UNCALIBRATED_ALERTS} uncalibrated_request alerts are already open`);
  }
}
