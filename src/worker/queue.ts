/**
 * The Worker's `queue` door (OBSERVATION_INGEST = "queue"): batches enqueued by POST /v1/observations, delivered by
 * the consumer declared in wrangler.toml [[queues.consumers]] and counted by src/monitoring/queue-consumer.ts.
 */
import { consumeObservations } from "../monitoring/queue-consumer";
import type { Env } from "../platform/env";
import { consumerDeps } from "./wiring";

export async function queue(batch: MessageBatch, env: Env): Promise<void> {
  await consumeObservations(batch.messages, consumerDeps(env));
}
