/**
 * The observation queue's consumer (OBSERVATION_INGEST = "queue"): decodes a consumer batch of up to
 * OBSERVATION_QUEUE_BATCH_SIZE messages, groups them by gate and makes ONE monitor call per gate
 * (GateMonitor.observeMany), then settles each message on its own result:
 *
 * - counted, or a duplicate (a redelivery, or a client's retry of a batch already counted): acknowledged;
 * - a mismatch (a batch id already counted with another body): acknowledged without counting, logged and counted in
 *   the gate's `queued_ingest.mismatches` (GET /v1/monitor): retrying could never make it count;
 * - failed (its transaction threw), or its gate's call failed: retried with backoff, and moved to the dead-letter
 *   queue by the platform after OBSERVATION_QUEUE_MAX_RETRIES;
 * - not a message this Worker writes: retried the same way (a consumer of an older deploy may meet a newer shape
 *   during a rollout), so it ends in the dead-letter queue rather than being dropped.
 *
 * Runs over small interfaces (a MonitorClient, the clock, a logger), so it unit-tests in Node.
 */
import { OBSERVATION_RETRY_BASE_DELAY_SECONDS, OBSERVATION_RETRY_MAX_DELAY_SECONDS } from "../platform/limits";
import type { DriftConfig } from "../stats/drift-config";
import type { MonitorClient, ObserveBatch, QueuedBatchResult } from "./monitor-contract";
import { decodeObservationMessage, type ObservationMessage } from "./observation-message";

/** The part of a Queues message the consumer uses (Message<unknown> of the Workers runtime). */
export interface QueueMessage {
  readonly id: string;
  readonly body: unknown;
  /** Deliveries so far, this one included (1 on the first). */
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

export interface ConsumerLog {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface ConsumerDeps {
  readonly monitor: MonitorClient;
  readonly now: () => Date;
  /** The drift configuration (a getter that throws AppError misconfigured on invalid DRIFT_* vars). */
  readonly drift: DriftConfig;
  readonly log: ConsumerLog;
}

/** What one consumer batch did, message by message (for the log line and the tests). */
export interface ConsumeSummary {
  readonly messages: number;
  /** Monitor calls made: one per gate in the batch. */
  readonly calls: number;
  readonly counted: number;
  readonly duplicates: number;
  readonly mismatches: number;
  readonly retried: number;
}

/** Delay before redelivering a message on its `attempts`-th delivery: doubling from the base, capped. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(OBSERVATION_RETRY_MAX_DELAY_SECONDS, OBSERVATION_RETRY_BASE_DELAY_SECONDS * 2 ** Math.max(0, attempts - 1));
}

const retry = (m: QueueMessage): void => m.retry({ delaySeconds: retryDelaySeconds(m.attempts) });

export async function consumeObservations(messages: readonly QueueMessage[], deps: ConsumerDeps): Promise<ConsumeSummary> {
  const tally = { messages: messages.length, calls: 0, counted: 0, duplicates: 0, mismatches: 0, retried: 0 };
  const byGate = new Map<string, { message: QueueMessage; body: ObservationMessage }[]>();
  for (const message of messages) {
    const body = decodeObservationMessage(message.body);
    if (body === null) {
      deps.log.error("observation queue: a message this Worker does not write; retried, then dead-lettered", {
        message_id: message.id,
        attempts: message.attempts,
      });
      retry(message);
      tally.retried += 1;
      continue;
    }
    const group = byGate.get(body.gate.gate_id) ?? [];
    group.push({ message, body });
    byGate.set(body.gate.gate_id, group);
  }
  if (byGate.size === 0) return tally;

  let config: DriftConfig;
  try {
    config = deps.drift;
  } catch (e) {
    // A DRIFT_* typo: nothing can be counted until it is fixed; the messages wait in the queue (then the DLQ).
    deps.log.error("observation queue: the drift configuration is invalid; every message is retried", { error: String(e) });
    const waiting = [...byGate.values()].flat();
    for (const { message } of waiting) retry(message);
    tally.retried += waiting.length;
    return tally;
  }

  const nowMs = deps.now().getTime();
  await Promise.all(
    [...byGate].map(async ([gateId, group]) => {
      tally.calls += 1;
      const batches: ObserveBatch[] = group.map(({ body: { v: _v, accepted_at_ms: _at, ...batch } }) => batch);
      let results: readonly QueuedBatchResult[];
      try {
        ({ results } = await deps.monitor.observeMany(gateId, { batches, now_ms: nowMs, config }));
      } catch (e) {
        deps.log.error("observation queue: the gate's monitor call failed; its messages are retried", {
          gate_id: gateId,
          messages: group.length,
          error: String(e),
        });
        for (const { message } of group) retry(message);
        tally.retried += group.length;
        return;
      }
      group.forEach(({ message, body }, i) => {
        const r = results[i];
        if (r === undefined || r.batch_id !== body.batch_id || r.status === "failed") {
          retry(message);
          tally.retried += 1;
          return;
        }
        message.ack();
        if (r.status === "counted") tally.counted += 1;
        else if (r.status === "duplicate") tally.duplicates += 1;
        else {
          tally.mismatches += 1;
          deps.log.warn("observation queue: batch_id already counted with a different body; not counted (see queued_ingest in GET /v1/monitor)", {
            gate_id: gateId,
            batch_id: body.batch_id,
            accepted_at: new Date(body.accepted_at_ms).toISOString(),
          });
        }
      });
    }),
  );
  return tally;
}
