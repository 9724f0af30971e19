/**
 * wrangler.toml's observation queue (producer binding, consumer batching, retries, dead-letter queue) against the
 * named constants the code and the documentation use (src/platform/limits.ts), read with wrangler's own parser.
 */

import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import {
  OBSERVATION_QUEUE_BATCH_SIZE,
  OBSERVATION_QUEUE_BATCH_TIMEOUT_SECONDS,
  OBSERVATION_QUEUE_MAX_RETRIES,
  OBSERVATIONS_DEAD_LETTER_QUEUE_NAME,
  OBSERVATIONS_QUEUE_NAME,
} from "../../src/platform/limits";

describe("wrangler.toml observation queue", () => {
  const config = unstable_readConfig({ config: "wrangler.toml" });

  it("binds the producer OBSERVATIONS_QUEUE to the observation queue", () => {
    expect(config.queues.producers).toEqual([{ binding: "OBSERVATIONS_QUEUE", queue: OBSERVATIONS_QUEUE_NAME }]);
  });

  it("consumes it with the batching, retries and dead-letter queue of the named constants", () => {
    expect(config.queues.consumers).toEqual([
      {
        queue: OBSERVATIONS_QUEUE_NAME,
        max_batch_size: OBSERVATION_QUEUE_BATCH_SIZE,
        max_batch_timeout: OBSERVATION_QUEUE_BATCH_TIMEOUT_SECONDS,
        max_retries: OBSERVATION_QUEUE_MAX_RETRIES,
        dead_letter_queue: OBSERVATIONS_DEAD_LETTER_QUEUE_NAME,
      },
    ]);
  });

  it("ships in direct mode", () => {
    expect(config.vars.OBSERVATION_INGEST).toBe("direct");
  });
});
