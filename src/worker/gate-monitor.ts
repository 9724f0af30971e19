/**
 * GateMonitor: one SQLite-backed Durable Object per gate aggregates production observations. A thin host: the
 * operations and the tables they use are src/monitoring/gate-monitor/ (each module owns its tables; numbered
 * migrations bring an object's schema up to date when it starts). The host answers RPC with them, and raises the
 * alerts their transactions queued in D1 afterwards; a raise that fails is retried by the object's alarm (which the
 * platform retries too). Memory is bounded: running sums, a fixed-size score reservoir, batch ids on disk with a
 * retention.
 *
 * It is also the hub of the gate's subscribers (src/streaming/hub.ts): the relays' WebSockets are accepted here with
 * the Hibernation API, committed changes arrive by `publishEvent`, and the relays' pings are answered by the runtime
 * (an auto-response) without waking the object.
 */
import { DurableObject } from "cloudflare:workers";
import { raiseAlert } from "../alerts/lifecycle";
import type { GateEvent, SeriesBucket } from "../contract";
import { Monitor } from "../monitoring/gate-monitor/monitor";
import type {
  GateMonitorRpc,
  JudgeInput,
  JudgeOutcome,
  LiveSums,
  MonitorSnapshot,
  ObserveInput,
  ObserveManyInput,
  ObserveManyOutcome,
  ObserveOutcome,
} from "../monitoring/monitor-contract";
import type { Env } from "../platform/env";
import type { DriftConfig } from "../stats/drift-config";
import type { GateHubRpc } from "../streaming/deps";
import { HUB_PING, HUB_PONG, Hub } from "../streaming/hub";
import { alertDeps, eventSource } from "./wiring";

/** Delay before the object's alarm retries alerts whose raise failed. */
const ALERT_RETRY_MS = 30_000;

export class GateMonitor extends DurableObject<Env> implements GateMonitorRpc, GateHubRpc {
  // #private, not TypeScript `private`: only true private members are unreachable over RPC.
  readonly #monitor: Monitor;
  readonly #hub: Hub;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // the object's clock, injected below it (the monitor's migration ledger, the hub's replay buffer)
    const now = () => Date.now();
    this.#monitor = new Monitor(ctx.storage, now);
    this.#hub = new Hub(ctx, now);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HUB_PING, HUB_PONG));
  }

  /** A relay's subscribe (src/streaming/hub-client.ts): the only HTTP the object answers. */
  override async fetch(request: Request): Promise<Response> {
    return this.#hub.subscribe(request, eventSource(this.env));
  }

  async publishEvent(event: GateEvent): Promise<number> {
    return this.#hub.publish(event, eventSource(this.env));
  }

  async syncEvents(gateId: string): Promise<number> {
    return this.#hub.sync(gateId, eventSource(this.env));
  }

  /** Subscribers send nothing but pings, which the auto-response answers; anything else is ignored. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    try {
      ws.close(1011, "error");
    } catch {
      // already closed
    }
  }

  async observe(input: ObserveInput): Promise<ObserveOutcome> {
    const outcome = this.#monitor.observe(input);
    if (outcome.alerts.length > 0) await this.#raisePending(input.now_ms);
    return outcome;
  }

  async observeMany(input: ObserveManyInput): Promise<ObserveManyOutcome> {
    const outcome = this.#monitor.observeMany(input);
    if (outcome.alerts.length > 0) await this.#raisePending(input.now_ms);
    return outcome;
  }

  async judge(input: JudgeInput): Promise<JudgeOutcome> {
    const outcome = this.#monitor.judge(input);
    if (outcome.alerts.length > 0) await this.#raisePending(input.now_ms);
    return outcome;
  }

  async status(gateId: string, nowMs: number, config: DriftConfig, detail = true): Promise<MonitorSnapshot> {
    return this.#monitor.status(gateId, nowMs, config, detail);
  }

  async series(fromMs: number, toMs: number): Promise<SeriesBucket[]> {
    return this.#monitor.series(fromMs, toMs);
  }

  async evidence(): Promise<Record<string, LiveSums>> {
    return this.#monitor.evidence();
  }

  async forgetEvidence(prefixes: readonly string[]): Promise<number> {
    return this.#monitor.forgetEvidence(prefixes);
  }

  async endShadow(calibrationId: string, nowMs: number, config: DriftConfig): Promise<boolean> {
    return this.#monitor.endShadow(calibrationId, nowMs, config);
  }

  /**
   * Raises every pending alert in D1; on failure keeps the rest and schedules the object's alarm to retry. The alerts
   * are dated by the observation's time; their webhook deliveries read the real clock when each is sent.
   */
  async #raisePending(nowMs: number): Promise<void> {
    const deps = alertDeps(
      this.env,
      (p) => this.ctx.waitUntil(p),
      () => new Date(nowMs),
      () => new Date(),
    );
    if (!(await this.#monitor.outbox.drain((alert) => raiseAlert(alert, deps)))) await this.ctx.storage.setAlarm(Date.now() + ALERT_RETRY_MS);
  }

  /** Retries pending alerts; throwing makes the platform retry the alarm with backoff. */
  override async alarm(): Promise<void> {
    await this.#raisePending(Date.now());
    if (!this.#monitor.outbox.empty) throw new Error("pending alerts remain");
  }
}
