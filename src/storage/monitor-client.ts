/**
 * How services reach a gate's monitor: one GateMonitor Durable Object per gate id (strongly consistent, single
 * threaded; a soft limit of about 1k requests/s per object, which is why observations arrive in batches).
 */
import type { GateMonitor, ObserveInput, ObserveOutcome } from "../durable/gate-monitor";
import type { MonitorStatus } from "../schemas";
import type { DriftConfig } from "../stats/drift";

/** A monitor's status plus the raw score sample of each open window, keyed by calibration id. */
export type MonitorSnapshot = MonitorStatus & { samples: Record<string, number[]> };

export interface MonitorClient {
  observe(gateId: string, input: ObserveInput): Promise<ObserveOutcome>;
  /** `detail` false skips the history and the score samples (cheaper, for /metrics). */
  status(gateId: string, nowMs: number, config: DriftConfig, detail?: boolean): Promise<MonitorSnapshot>;
}

export class DurableMonitorClient implements MonitorClient {
  constructor(private readonly ns: DurableObjectNamespace<GateMonitor>) {}

  private stub(gateId: string): DurableObjectStub<GateMonitor> {
    return this.ns.get(this.ns.idFromName(gateId));
  }

  async observe(gateId: string, input: ObserveInput): Promise<ObserveOutcome> {
    return (await this.stub(gateId).observe(input)) as ObserveOutcome;
  }

  async status(gateId: string, nowMs: number, config: DriftConfig, detail = true): Promise<MonitorSnapshot> {
    return (await this.stub(gateId).status(gateId, nowMs, config, detail)) as MonitorSnapshot;
  }
}
