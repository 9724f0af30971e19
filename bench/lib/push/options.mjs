/**
 * The command line of bench/push-propagation.mjs (every mode's options, read once) and the limits the modes share.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../worker.mjs";

export const { values: opts } = parseArgs({
  options: {
    subscribers: { type: "string", default: "1000" },
    activations: { type: "string", default: "10" },
    gap: { type: "string", default: "3" },
    idle: { type: "string", default: "30" },
    poll: { type: "string", default: "100" },
    storm: { type: "string", default: "2" },
    ingest: { type: "boolean", default: false },
    restart: { type: "boolean", default: false },
    sdk: { type: "boolean", default: false },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "8" },
    every: { type: "string", default: "1" },
    out: { type: "string" },
  },
});
export const N = Number(opts.subscribers);
export const K = Number(opts.activations);
export const GAP_MS = Number(opts.gap) * 1000;
export const IDLE_MS = Number(opts.idle) * 1000;
export const POLL_MS = Number(opts.poll);
export const STORM_EVENTS = Number(opts.storm);
export const OUT = resolve(
  ROOT,
  opts.out ??
    (opts.ingest
      ? "bench/results/push-ingest.md"
      : opts.restart
        ? "bench/results/push-restart.md"
        : opts.sdk
          ? "bench/results/push-sdk.md"
          : "bench/results/push-propagation.md"),
);
// Each arm starts with v1 served and activates v2 first, then alternates: even counts bring v1 back at each arm's end.
if (K < 2 || K % 2 !== 0 || STORM_EVENTS < 2 || STORM_EVENTS % 2 !== 0) throw new RangeError("--activations and --storm must be even, at least 2");
/** A subscriber that has not seen an activation this long after its 200 counts as a miss. */
export const MISS_AFTER_MS = 10_000;
/** The polling arm waits this long per activation: the SDK's max-age (5 s) and a margin. */
export const POLL_WAIT_MS = 7_000;
/** A storm not caught up by then is reported as such. */
export const STORM_DEADLINE_MS = 60_000;
/** A refused or failed reconnect is retried after this long (a client's backoff, kept short). */
export const RETRY_MS = 250;
/** The WebSocket clients' own liveness ping, at the relay's heartbeat interval (SSE_HEARTBEAT_MS). */
export const WS_PING_MS = 15_000;
export const TARGET_P99_MS = 2_000;
/** The one gate every mode subscribes to and activates. */
export const GATE = { index: "default", embedding: "e5", reranker: "bge-push" };
export const GATE_QS = new URLSearchParams(GATE).toString();
