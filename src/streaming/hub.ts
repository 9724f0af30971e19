/**
 * The hub of a gate's subscribers, hosted by the gate's Durable Object (src/worker/gate-monitor.ts): the one place
 * that sees every change of the gate and every subscriber, so it orders and fans out. Subscribers are WebSockets the
 * object ACCEPTS with the Hibernation API (`ctx.acceptWebSocket`): the object may be evicted from memory while they
 * stay open and costs no duration while idle; an outgoing socket could not hibernate. Each subscriber is one edge
 * relay (relay.ts) that turns the frames into a client's SSE stream; frames are already SSE text.
 *
 * Ordering and self-healing. `publish(e)` drops a seq it already has; appends and broadcasts, with no await in
 * between, an event whose `prev_seq` is its head; and otherwise (a predecessor missing: two activations' listeners
 * arrived out of order, or one failed) reads the gate's log after its head from D1 inside `blockConcurrencyWhile`, so
 * no publish or subscribe interleaves, and sends those in order. No state lives in memory: the log is in the object's
 * SQLite (event-log.ts), the subscribers are the object's accepted sockets.
 */
import { type GateEvent, type GateHeartbeat, MAX_SUBSCRIBERS_PER_GATE, sseFrame } from "../contract";
import { HUB_SYNC_BATCH } from "../platform/limits";
import type { EventSource } from "./deps";
import { EventLog } from "./event-log";

/** The tag of subscriber sockets (`ctx.getWebSockets(SUBSCRIBER_TAG)`). */
export const SUBSCRIBER_TAG = "sub";

/** What a subscriber's relay sends to learn that the hub is alive; answered "pong" without waking the object. */
export const HUB_PING = "ping";
export const HUB_PONG = "pong";

/** The internal URL of the subscribe request (never public: the relay builds it after authentication). */
export const hubSubscribeUrl = (gateId: string, after: number | null): string =>
  `https://hub.internal/subscribe?gate=${encodeURIComponent(gateId)}${after === null ? "" : `&after=${after}`}`;

/** The part of DurableObjectState the hub uses. */
export type HubState = Pick<DurableObjectState, "acceptWebSocket" | "getWebSockets" | "blockConcurrencyWhile"> & {
  readonly storage: Pick<DurableObjectStorage, "sql">;
};

export class Hub {
  readonly #state: HubState;
  readonly #log: EventLog;
  readonly #now: () => number;

  constructor(state: HubState, now: () => number) {
    this.#state = state;
    this.#log = new EventLog(state.storage.sql);
    this.#now = now;
  }

  /** The seq of the newest event the hub has (0: none yet). */
  head(): number {
    return this.#log.head();
  }

  /** The number of open subscriber sockets. */
  subscribers(): number {
    return this.#state.getWebSockets(SUBSCRIBER_TAG).length;
  }

  /**
   * Answers a relay's upgrade request (hubSubscribeUrl): 429 at MAX_SUBSCRIBERS_PER_GATE; else accepts the socket
   * and sends, before anything newer, what the subscriber missed after `after` (a replay, or a snapshot when the log
   * cannot link it, or nothing when it is current), then a heartbeat with the head.
   */
  async subscribe(request: Request, source: EventSource): Promise<Response> {
    const url = new URL(request.url);
    const gateId = url.searchParams.get("gate");
    const rawAfter = url.searchParams.get("after");
    const after = rawAfter === null ? null : Number(rawAfter);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    if (gateId === null || (after !== null && !Number.isSafeInteger(after))) return new Response("bad subscribe request", { status: 400 });
    if (this.subscribers() >= MAX_SUBSCRIBERS_PER_GATE) return new Response("too many subscribers", { status: 429 });

    // A hub that has never seen an event of its gate, or a subscriber ahead of it (a publish it missed), learns the
    // gate's log from D1 first; nothing else runs meanwhile, so no event slips between the replay and the socket.
    const head = this.#log.head();
    if (head === 0 || (after !== null && after > head)) {
      await this.#state.blockConcurrencyWhile(() => this.#catchUp(gateId, source));
    }

    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.#state.acceptWebSocket(server, [SUBSCRIBER_TAG]);
    for (const frame of this.#missed(after)) server.send(frame);
    server.send(this.heartbeatFrame());
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Appends and broadcasts a committed event, in the gate's order (module comment); returns how many were sent. */
  async publish(event: GateEvent, source: EventSource): Promise<number> {
    const head = this.#log.head();
    if (event.seq <= head) return 0;
    if (head === 0 || event.prev_seq === head) {
      this.#send(event);
      return 1;
    }
    return this.#state.blockConcurrencyWhile(() => this.#catchUp(event.gate_id, source));
  }

  /** Brings the hub up to D1's log of the gate (the cron tick's repair of a failed publish); returns the events sent. */
  async sync(gateId: string, source: EventSource): Promise<number> {
    return this.#state.blockConcurrencyWhile(() => this.#catchUp(gateId, source));
  }

  /** The heartbeat frame with the hub's head. */
  heartbeatFrame(): string {
    const beat: GateHeartbeat = { v: 1, head_seq: this.#log.head(), at: new Date(this.#now()).toISOString() };
    return sseFrame("heartbeat", beat);
  }

  /** The frames a subscriber resuming after `after` (null: not resuming) is owed. */
  #missed(after: number | null): string[] {
    const latest = this.#log.latest();
    if (latest === null) return [];
    const replay = after === null ? null : this.#log.after(after);
    if (replay === null) return [sseFrame("snapshot", latest, latest.seq)];
    return replay.map((e) => sseFrame("gate", e, e.seq));
  }

  /** Reads the gate's events after the head from D1 and sends them in order (empty log: only the newest). */
  async #catchUp(gateId: string, source: EventSource): Promise<number> {
    const head = this.#log.head();
    const events = head === 0 ? [await source.latestEvent(gateId)].filter((e) => e !== null) : await source.events(gateId, head, HUB_SYNC_BATCH);
    let sent = 0;
    for (const e of events) {
      if (this.#log.head() !== 0 && e.prev_seq !== this.#log.head()) break; // D1's log is linked: only on a torn read
      this.#send(e);
      sent++;
    }
    return sent;
  }

  /** Appends `e` and sends it to every subscriber, synchronously (no await: nothing interleaves). */
  #send(e: GateEvent): void {
    this.#log.append(e, this.#now());
    const frame = sseFrame("gate", e, e.seq);
    for (const ws of this.#state.getWebSockets(SUBSCRIBER_TAG)) {
      try {
        ws.send(frame);
      } catch {
        // A socket closing meanwhile: its relay ends the client's stream and the client resumes from its last id.
      }
    }
  }
}
