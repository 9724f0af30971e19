/**
 * HubClient over the GateMonitor Durable Object namespace: a gate's hub is its monitor's object (one per gate id).
 */
import type { GateEvent } from "../contract";
import type { GateHubRpc, HubClient } from "./deps";
import { hubSubscribeUrl } from "./hub";

export class DurableHubClient implements HubClient {
  constructor(private readonly ns: DurableObjectNamespace) {}

  private stub(gateId: string): DurableObjectStub & GateHubRpc {
    // The namespace's stubs expose GateMonitor's public methods; GateHubRpc is their contract (deps.ts).
    return this.ns.get(this.ns.idFromName(gateId)) as unknown as DurableObjectStub & GateHubRpc;
  }

  async subscribe(gateId: string, after: number | null): Promise<Response> {
    return this.stub(gateId).fetch(hubSubscribeUrl(gateId, after), { headers: { upgrade: "websocket" } });
  }

  async publish(event: GateEvent): Promise<void> {
    await this.stub(event.gate_id).publishEvent(event);
  }

  async sync(gateId: string): Promise<void> {
    await this.stub(gateId).syncEvents(gateId);
  }
}
