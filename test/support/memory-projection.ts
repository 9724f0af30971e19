/** In-memory ThresholdProjection for unit tests: the same keys as KV, no expiry, no eventual consistency. */
import { type ProjectedThreshold, projectionKey, type ThresholdProjection } from "../../src/serving/projection";

export class MemoryThresholdProjection implements ThresholdProjection {
  readonly values = new Map<string, ProjectedThreshold>();

  async get(gateId: string, indexVersion: string | null): Promise<ProjectedThreshold | null> {
    return this.values.get(await projectionKey(gateId, indexVersion)) ?? null;
  }

  async put(gateId: string, indexVersion: string | null, value: ProjectedThreshold): Promise<void> {
    this.values.set(await projectionKey(gateId, indexVersion), value);
  }
}
