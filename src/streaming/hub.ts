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
 *
 * A restore. D1's log can go back (a D1 Time Travel restore, or a local state reset: docs/storage.md, "Recovery"),
 * which this object's own storage does not follow: the hub then holds events D1 no longer has, and D1's next seqs are
 * at or below its head. The hub notices when a publish brings a seq at or below its head that its log does not hold,
 * when a sync (the cron tick's, or the reconciler's after it republished a gate) finds D1's newest event of the gate
 * below its head, and when D1's next event after its head does not follow it. It confirms with D1's newest event,
 * inside `blockConcurrencyWhile` (a late repeat of an old event trimmed from the log is not a restore: D1 still has
 * the head), then restarts its history: it forgets its log, keeps D1's newest event and sends it to every subscriber
 * as a `snapshot`; heartbeats then carry its seq, and clients ahead of it take the snapshot (docs/api.md, "Pushed
 * changes").
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
      await this.#state.blockConcurrencyWhile(() => this.#catchUp(gateId, source, null));
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
    if (event.seq <= head) {
      if (this.#log.holds(event)) return 0; // a repeat
      // Not kept: a late repeat of an event trimmed from the log, or D1's log went back (a restore). D1 tells which.
      return this.#state.blockConcurrencyWhile(() => this.#follow(event.gate_id, source));
    }
    if (head === 0 || event.prev_seq === head) {
      this.#send(event);
      return 1;
    }
    return this.#state.blockConcurrencyWhile(() => this.#catchUp(event.gate_id, source, null));
  }

  /**
   * Brings the hub to D1's log of the gate (the cron tick's repair of a failed publish, and of a restore); returns the
   * events sent (a restart counts its snapshot).
   */
  async sync(gateId: string, source: EventSource): Promise<number> {
    return this.#state.blockConcurrencyWhile(() => this.#follow(gateId, source));
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

  /**
   * Brings the hub to D1's newest event of the gate, `latest`: nothing when the hub has it, a restart when it is below
   * the head (a restore), the events after the head when above. Cost, chosen so the cron tick's sync of a current hub
   * stays at one D1 read: the newest event is read first (one query, all a current hub or a restored one needs), and
   * the events after the head only when D1 is ahead (a second query, for a hub that missed a publish).
   */
  async #follow(gateId: string, source: EventSource): Promise<number> {
    const latest = await source.latestEvent(gateId);
    const head = this.#log.head();
    if (latest === null) {
      // D1 has no event of the gate left (restored to before its first): nothing to show, so the subscribers' sockets
      // end (their relays keep the old head in their heartbeats): the clients reconnect, read head 0 below what they
      // applied, and take the gate's state from a poll.
      if (head !== 0) {
        this.#log.clear();
        for (const ws of this.#state.getWebSockets(SUBSCRIBER_TAG)) {
          try {
            ws.close(1012, "the gate's event history restarted");
          } catch {
            // already closing
          }
        }
      }
      return 0;
    }
    if (latest.seq < head) return this.#restart(latest);
    // D1's newest at the head's seq is the head, or (a restore whose new events reached that seq again) another event
    if (latest.seq === head) return this.#log.holds(latest) ? 0 : this.#restart(latest);
    return this.#catchUp(gateId, source, latest);
  }

  /**
   * Reads the gate's events after the head from D1 and sends them in order (empty log: only the newest, `latest` when
   * the caller has read it). When D1's next event does not follow the head, D1 no longer has the head (a restore, and
   * new activations since past the old head): the hub restarts from D1's newest event.
   */
  async #catchUp(gateId: string, source: EventSource, latest: GateEvent | null): Promise<number> {
    const head = this.#log.head();
    if (head === 0) {
      const newest = latest ?? (await source.latestEvent(gateId));
      if (newest === null) return 0;
      this.#send(newest);
      return 1;
    }
    const events = await source.events(gateId, head, HUB_SYNC_BATCH);
    if (events[0] !== undefined && events[0].prev_seq < head) {
      const newest = latest ?? (await source.latestEvent(gateId));
      return newest === null ? 0 : this.#restart(newest);
    }
    let sent = 0;
    for (const e of events) {
      if (e.prev_seq !== this.#log.head()) break; // D1's log is linked: only on a torn read
      this.#send(e);
      sent++;
    }
    return sent;
  }

  /** Restarts the hub's history at D1's newest event (module comment, "A restore"): every subscriber gets its snapshot. */
  #restart(latest: GateEvent): number {
    this.#log.clear();
    this.#log.append(latest, this.#now());
    this.#broadcast(sseFrame("snapshot", latest, latest.seq));
    return 1;
  }

  /** Appends `e` and sends it to every subscriber, synchronously (no await: nothing interleaves). */
  #send(e: GateEvent): void {
    this.#log.append(e, this.#now());
    this.#broadcast(sseFrame("gate", e, e.seq));
  }

  /** Sends `frame` to every subscriber. */
  #broadcast(frame: string): void {
    for (const ws of this.#state.getWebSockets(SUBSCRIBER_TAG)) {
      try {
        ws.send(frame);
      } catch {
        // A socket closing meanwhile: its relay ends the client's stream and the client resumes from its last id.
      }
    }
  }
}
