/**
 * The slice of dependencies the serving routes need: src/worker/wiring.ts builds it from `env`. The services below
 * declare their own narrower slices (ProjectionDeps in publish.ts, ReaderDeps in threshold-reader.ts), which unit
 * tests build from the in-memory doubles of test/support/.
 */
import type { ThresholdQuery } from "../contract";
import type { GateSuggestion, ThresholdReader } from "./threshold-reader";

export type { ProjectionDeps } from "./publish";
export type { ReaderDeps } from "./threshold-reader";

/** GET /v1/threshold. */
export interface ServingDeps {
  /** The read path over this isolate's caches. */
  readonly thresholds: ThresholdReader;
  /**
   * Told when a caller asks for a gate without an active calibration, with who asked: the token's name and the
   * client's User-Agent (wired to the uncalibrated_request alert in src/worker/wiring.ts, which tells a service that
   * keeps asking from a person's lookup), and what the 404 suggested it may have meant; it returns at once, whatever it
   * starts runs after the response.
   */
  readonly onUncalibrated: (
    gateId: string,
    q: ThresholdQuery,
    caller: { readonly token: string; readonly userAgent: string | null },
    suggestions: readonly GateSuggestion[],
  ) => void;
}
