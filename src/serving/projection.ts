/**
 * The read projection of active thresholds (KV in production): what GET /v1/threshold serves without touching D1.
 *
 * Consistency: KV is eventually consistent; a write can take about 60 s to be seen in every location, and a key
 * accepts about one write per second. So: values are published from the committed D1 row (never from a request's
 * copy), every value carries `activation_seq` and a publish never replaces a newer one, and the scheduled
 * reconciler (reconcile.ts) republishes any key that disagrees with D1. A reader that misses KV falls back to D1.
 */
import type { Expectation } from "../calibrations/expectation";
import { NO_GUARDS, type ThresholdResponse } from "../contract";
import { sha256Hex } from "../platform/digest";

export interface ProjectedThreshold {
  readonly v: 1;
  readonly gate_id: string;
  readonly activation_seq: number;
  readonly threshold: ThresholdResponse;
  readonly expectation: Expectation;
}

/**
 * A projection as GET /v1/threshold serves it: values published before guards lack `guards` and `abstain_below`, and
 * KV keeps them until the gate's next activation, so they are read as the neutral values (no guard, never abstains).
 * `rollout` and `shadows` are optional in the contract: absent reads as none, so nothing is filled in here.
 */
export function servedProjection(p: ProjectedThreshold): ProjectedThreshold {
  const t = p.threshold as Partial<Pick<ThresholdResponse, "guards" | "abstain_below">> & Omit<ThresholdResponse, "guards" | "abstain_below">;
  if (t.guards !== undefined && t.abstain_below !== undefined) return p;
  return { ...p, threshold: { ...t, guards: t.guards ?? NO_GUARDS, abstain_below: t.abstain_below ?? null } };
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
    const value =
      this.cacheTtlSeconds === null
        ? await this.kv.get<ProjectedThreshold>(key, { type: "json" })
        : await this.kv.get<ProjectedThreshold>(key, { type: "json", cacheTtl: this.cacheTtlSeconds });
    return value === null ? null : servedProjection(value);
  }

  async put(gateId: string, indexVersion: string | null, value: ProjectedThreshold): Promise<void> {
    await this.kv.put(await projectionKey(gateId, indexVersion), JSON.stringify(value));
  }
}
