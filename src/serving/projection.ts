/**
 * The read projection of active thresholds (KV in production): what GET /v1/threshold serves without touching D1.
 *
 * Consistency: KV is eventually consistent; a write can take about 60 s to be seen in every location, and a key
 * accepts about one write per second. So: values are published from the committed D1 row (never from a request's
 * copy), every value carries `activation_seq` and a publish never replaces a newer one, and the scheduled
 * reconciler (reconcile.ts) republishes any key that disagrees with D1. A reader that misses KV falls back to D1.
 */
import type { Expectation } from "../calibrations/expectation";
import type { ThresholdResponse } from "../contract";
import { sha256Hex } from "../platform/digest";

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
  return `thr/${gateId}/v/${await sha256Hex(indexVersion, 16)}`;
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
