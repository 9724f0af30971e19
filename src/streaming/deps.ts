/**
 * What the streaming feature needs, named narrowly (src/worker/wiring.ts builds it): where the gate's log is (D1), the
 * gates' hubs (their Durable Objects), and the relay's clock.
 */
import type { CalibrationStore } from "../calibrations/store";
import type { GateEvent } from "../contract";

/** The system of record's activation log, as the hub reads it to catch up. */
export type EventSource = Pick<CalibrationStore, "events" | "latestEvent">;

/** The hub of each gate (its GateMonitor Durable Object). */
export interface HubClient {
  /** The hub's answer to a subscribe: 101 with the hub end of a WebSocket, or 429 at MAX_SUBSCRIBERS_PER_GATE. */
  subscribe(gateId: string, after: number | null): Promise<Response>;
  /** Hands a committed event to the gate's hub, which sends it (and any it missed) to every subscriber. */
  publish(event: GateEvent): Promise<void>;
  /** Brings the gate's hub up to D1's log (the cron tick's repair of a publish that failed). */
  sync(gateId: string): Promise<void>;
}

/** The RPC methods the hub's Durable Object exposes (src/worker/gate-monitor.ts implements them). */
export interface GateHubRpc {
  publishEvent(event: GateEvent): Promise<number>;
  syncEvents(gateId: string): Promise<number>;
}

/**
 * Time for the relay: the clock and a repeating timer, injected so a test drives heartbeats without waiting. Timers
 * are started per stream, never at module scope (workerd forbids it there).
 */
export interface RelayClock {
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

export interface StreamingDeps {
  readonly calibrations: Pick<CalibrationStore, "gate" | "calibratedNeighbours">;
  readonly hub: HubClient;
  readonly relayClock: RelayClock;
}
