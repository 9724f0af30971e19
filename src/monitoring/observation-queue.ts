/**
 * How POST /v1/observations reaches the gate monitors: directly (one Durable Object call per batch, answered with the
 * updated window), or through a Cloudflare Queue whose consumer counts the batches a few seconds later, one object
 * call per gate per consumer batch (docs/reliability.md#observation-ingest-at-fleet-scale).
 *
 * Consistency: Queues deliver at least once, so a message may arrive twice; the monitor's batch ids make the second
 * delivery a duplicate. A message is acknowledged only after its batch is counted (or recognised as a duplicate or a
 * mismatch), so a consumer that dies mid-batch loses nothing: the batch is delivered again.
 */
import type { ObservationMessage } from "./observation-message";

/** The queue POST /v1/observations writes to in queue mode. */
export interface ObservationQueue {
  /** Enqueues one message; throws when the queue refuses it (over its throughput limit, or unavailable). */
  send(message: ObservationMessage): Promise<void>;
}

/** OBSERVATION_INGEST, validated (src/worker/wiring.ts observationIngest). */
export type ObservationIngest = { readonly mode: "direct" } | { readonly mode: "queue"; readonly queue: ObservationQueue };

/** The modes OBSERVATION_INGEST accepts; "direct" is the default. */
export const OBSERVATION_INGEST_MODES = ["direct", "queue"] as const;

/** ObservationQueue over a Queues producer binding. */
export class CloudflareObservationQueue implements ObservationQueue {
  constructor(private readonly queue: Queue) {}

  async send(message: ObservationMessage): Promise<void> {
    // JSON, not the default structured clone: its size is what MAX_OBSERVATION_MESSAGE_BYTES bounds.
    await this.queue.send(message, { contentType: "json" });
  }
}
