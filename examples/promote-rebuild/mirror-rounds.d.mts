import type { GateResult, ScoregateClient } from "@scoregate/client";
import type { shadow } from "@scoregate/client/shadow";

/** One line of fixtures/walkthrough/live.ndjson: a user and the scores its query got from the v1 and the v2 index. */
export interface LiveQuery {
  readonly key: string;
  readonly v1: readonly number[];
  readonly v2: readonly number[];
}

export interface MirrorOptions {
  readonly gate: { readonly index: string; readonly embedding: string; readonly reranker: string };
  readonly rounds: number;
  /** `shadow` of `@scoregate/client/shadow`, from the same build as the client. */
  readonly shadow: typeof shadow;
  /** Called after each query is served and mirrored: the gate's result and the shadows that took it. */
  readonly onQuery?: (q: { query: LiveQuery; result: GateResult<number>; shadows: readonly string[] }) => void;
  /** Awaited after each round's last flush. */
  readonly afterRound?: (round: number) => Promise<void> | void;
}

/** Queries served between two explicit flushes of the SDK's observation reports. */
export declare const FLUSH_EVERY: number;

/** Serves and mirrors `rounds` passes over `lines`; returns the queries served per arm and mirrored per shadow. */
export declare function mirrorRounds(
  client: ScoregateClient,
  lines: readonly LiveQuery[],
  options: MirrorOptions,
): Promise<{ served: Map<string, number>; shadowed: Map<string, number> }>;
