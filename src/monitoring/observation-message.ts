/**
 * The message POST /v1/observations enqueues in queue mode (OBSERVATION_INGEST = "queue") and the consumer decodes:
 * a batch already validated and resolved to its calibration, so the consumer only counts it. The producer and the
 * consumer are the same Worker; the version tag `v` lets a consumer of another deploy refuse a shape it does not know
 * (the message is retried, and dead-lettered if no consumer ever knows it).
 */
import { z } from "zod";
import type { Expectation } from "../calibrations/expectation";
import type { ObserveBatch } from "./monitor-contract";

/** The shape written by this version of the Worker. */
export const OBSERVATION_MESSAGE_VERSION = 1;

export interface ObservationMessage extends ObserveBatch {
  readonly v: typeof OBSERVATION_MESSAGE_VERSION;
  /** When POST /v1/observations accepted the batch (ms since the epoch): the consumer logs the delay. */
  readonly accepted_at_ms: number;
}

const Name = z.string().min(1);
const Count = z.number().int().min(0);

const MessageSchema = z.object({
  v: z.literal(OBSERVATION_MESSAGE_VERSION),
  accepted_at_ms: z.number(),
  gate: z.object({ gate_id: Name, index: Name, embedding: Name, reranker: Name }),
  calibration: z.object({
    id: Name,
    index_version: Name,
    // Written by resolve() in observations.ts from the served projection (calibrations/expectation.ts); checked
    // here only as far as the window needs to start one.
    expectation: z.looseObject({ n: z.number(), expected_drop_rate: z.number() }),
  }),
  batch_id: Name,
  batch_hash: Name,
  // [candidates, dropped] or, from clients that apply guards or abstention, [candidates, dropped, below, abstained],
  // with the unscored candidates as a fifth count from clients that report them. A message with five counts is new to
  // consumers of earlier deploys: they refuse it and it is retried, as any unknown shape is.
  queries: z
    .array(
      z.union([
        z.tuple([Count, Count]),
        z.tuple([Count, Count, Count, z.union([z.literal(0), z.literal(1)])]),
        z.tuple([Count, Count, Count, z.union([z.literal(0), z.literal(1)]), Count]),
      ]),
    )
    .min(1),
  scores: z.array(z.number()).nullable(),
});

/** The message of a resolved batch. */
export function observationMessage(batch: ObserveBatch, acceptedAtMs: number): ObservationMessage {
  return { v: OBSERVATION_MESSAGE_VERSION, accepted_at_ms: acceptedAtMs, ...batch };
}

/** Bytes the message takes on the queue (sent with contentType "json"). */
export function messageBytes(message: ObservationMessage): number {
  return new TextEncoder().encode(JSON.stringify(message)).byteLength;
}

/** The message, or null when the body is not one this Worker writes. */
export function decodeObservationMessage(body: unknown): ObservationMessage | null {
  const parsed = MessageSchema.safeParse(body);
  if (!parsed.success) return null;
  const { expectation, ...calibration } = parsed.data.calibration;
  return { ...parsed.data, calibration: { ...calibration, expectation: expectation as unknown as Expectation } };
}
