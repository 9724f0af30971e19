/**
 * MonitorClient over the GateMonitor Durable Object namespace: one object per gate id (strongly consistent, single
 * threaded; a soft limit of about 1k requests/s per object, which is why observations arrive in batches).
 */
import type { SeriesBucket } from "../contract";
import type { DriftConfig } from "../stats/drift-config";
import type {
  GateMonitorRpc,
  JudgeInput,
  JudgeOutcome,
  LiveSums,
  MonitorClient,
  MonitorSnapshot,
  ObserveInput,
  ObserveManyInput,
  ObserveManyOutcome,
  ObserveOutcome,
} from "./monitor-contract";

export class DurableMonitorClient implements MonitorClient {
  constructor(private readonly ns: DurableObjectNamespace) {}

  private stub(gateId: string): GateMonitorRpc {
    // The namespace's stubs expose GateMonitor's public methods; GateMonitorRpc is their contract (monitor-contract.ts).
    return this.ns.get(this.ns.idFromName(gateId)) as unknown as GateMonitorRpc;
  }

  async observe(gateId: string, input: ObserveInput): Promise<ObserveOutcome> {
    return this.stub(gateId).observe(input);
  }

  async observeMany(gateId: string, input: ObserveManyInput): Promise<ObserveManyOutcome> {
    return this.stub(gateId).observeMany(input);
  }

  async judge(gateId: string, input: JudgeInput): Promise<JudgeOutcome> {
    return this.stub(gateId).judge(input);
  }

  async evidence(gateId: string): Promise<Record<string, LiveSums>> {
    return this.stub(gateId).evidence();
  }

  async forgetEvidence(gateId: string, prefixes: readonly string[]): Promise<number> {
    return this.stub(gateId).forgetEvidence(prefixes);
  }

  async endShadow(gateId: string, calibrationId: string, nowMs: number, config: DriftConfig): Promise<boolean> {
    return this.stub(gateId).endShadow(calibrationId, nowMs, config);
  }

  async status(gateId: string, nowMs: number, config: DriftConfig, detail = true): Promise<MonitorSnapshot> {
    return this.stub(gateId).status(gateId, nowMs, config, detail);
  }

  async series(gateId: string, fromMs: number, toMs: number): Promise<SeriesBucket[]> {
    return this.stub(gateId).series(fromMs, toMs);
  }
}
