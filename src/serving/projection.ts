/**
 * The read projection of active thresholds (KV in production): what GET /v1/threshold serves without touching D1.
 *
 * Consistency: KV is eventually consistent; a write can take about 60 s to be seen in every location, and a key
 * accepts about one write per second. So: values are published from the committed D1 row (never from a request's
 * copy), every value carries `activation_seq` and a publish never replaces a newer one, and the scheduled
 * reconciler (jobs/reconcile.ts) republishes any key that disagrees with D1. A reader that misses KV falls back to D1.
 */
import type { ThresholdResponse } from "../contract";

/** What the drift monitor needs to know about the served calibration, carried along to avoid a D1 read. */
export interface Expectation {
  readonly n: number;
  /** The calibration's in-sample drop rate F_n(t-) (publish.ts expectationOf says why). */
  readonly expected_drop_rate: number;
  /**
   * The gate's conformal rank and the calibration scores tied at its threshold, for the exact law of its true drop rate
   * (monitoring/window.ts calibrationExpectation); absent in projections published before they were kept.
   */
  readonly k?: number;
  readonly ties_at_threshold?: number;
  readonly empty_context_rate: number | null;
  readonly n_queries: number | null;
  /** The calibration's design effect at its threshold (queries uploads; absent or 1 for flat scores). */
  readonly design_effect?: number;
  /** Per-calibration absolute tolerances of the drift band; absent or null: the server's defaults. */
  readonly drift_tolerance?: number | null;
  readonly empty_context_tolerance?: number | null;
  /** The empty-context rate per candidate-count stratum (queries uploads fitted since strata were kept). */
  readonly empty_context_strata?: readonly ExpectedStratum[] | null;
  /** Mean candidates per calibration query (queries uploads), shown next to production's. */
  readonly mean_candidates?: number | null;
}

/** One stratum of the expectation; the optional fields are absent in projections published before they were kept. */
export interface ExpectedStratum {
  readonly rate: number;
  readonly queries: number;
  readonly effective_queries?: number;
  readonly extrapolated: boolean;
  readonly source?: "observed" | "hypergeometric";
  readonly empty?: number;
  readonly extrapolation_check?: "passed" | "failed" | "inconclusive" | "untested" | null;
}

export interface ProjectedThreshold {
  readonly v: 1;
  readonly gate_id: string;
  readonly activation_seq: number;
  readonly threshold: ThresholdResponse;
  readonly expectation: Expectation;
}

export interface ThresholdProjection {
  /** `indexVersion` null: the gate's current threshold; otherwise the pinned version's. */
  get(gateId: string, indexVersion: string | null): Promise<ProjectedThreshold | null>;
  put(gateId: string, indexVersion: string | null, value: ProjectedThreshold): Promise<void>;
}

/** KV key of a projection. Pinned versions are hashed so any id fits KV's 512-byte key limit. */
export async function projectionKey(gateId: string, indexVersion: string | null): Promise<string> {
  if (indexVersion === null) return `thr/${gateId}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(indexVersion));
  const hex = [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `thr/${gateId}/v/${hex}`;
}

export class KvThresholdProjection implements ThresholdProjection {
  constructor(
    private readonly kv: KVNamespace,
    /** Edge cache for reads; null reads the current value (the reconciler must not trust a cached copy). */
    private readonly cacheTtlSeconds: number | null,
  ) {}

  async get(gateId: string, indexVersion: string | null): Promise<ProjectedThreshold | null> {
    const key = await projectionKey(gateId, indexVersion);
    return this.cacheTtlSeconds === null
      ? this.kv.get<ProjectedThreshold>(key, { type: "json" })
      : this.kv.get<ProjectedThreshold>(key, { type: "json", cacheTtl: this.cacheTtlSeconds });
  }

  async put(gateId: string, indexVersion: string | null, value: ProjectedThreshold): Promise<void> {
    await this.kv.put(await projectionKey(gateId, indexVersion), JSON.stringify(value));
  }
}
