/**
 * The hub's replay buffer: the gate's newest events, in its Durable Object's SQLite (table `gate_events`, GateMonitor
 * migration 5), so a subscriber that reconnects with `Last-Event-ID` is sent what it missed without a D1 read, even
 * after the object restarted. D1's activation log stays the system of record; this is a bounded copy of its tail.
 *
 * `after(seq)` answers only when the log holds the event that followed `seq` (the one whose `prev_seq` is `seq`):
 * seqs are global across gates, so "after 41" cannot be told from a range alone; without that link the events are
 * too old or the seq is unknown, and the caller sends a snapshot instead.
 */
import type { GateEvent } from "../contract";
import { EVENT_LOG_MAX, EVENT_LOG_RETENTION_MS } from "../platform/limits";

/** The fields that tell one committed event from another at the same seq (EventLog.holds). */
const EVENT_IDENTITY = ["prev_seq", "at", "kind", "calibration_id", "actor", "reason"] as const satisfies readonly (keyof GateEvent)[];

export class EventLog {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** The seq of the newest event kept (0: none). */
  head(): number {
    return this.#sql.exec<{ seq: number | null }>(`SELECT MAX(seq) AS seq FROM gate_events`).one().seq ?? 0;
  }

  /** The newest event kept; null when none. */
  latest(): GateEvent | null {
    const row = this.#sql.exec<{ event: string }>(`SELECT event FROM gate_events ORDER BY seq DESC LIMIT 1`).toArray()[0];
    return row === undefined ? null : (JSON.parse(row.event) as GateEvent);
  }

  /**
   * Whether the log holds this very event (a publish of it again is a duplicate): its seq, and the same commit (time,
   * kind, predecessor, calibration, actor, reason). A seq alone does not tell: after a restore of D1 its log numbers new
   * events from where the restored point left off, so a kept seq can come back naming another event.
   */
  holds(event: GateEvent): boolean {
    const row = this.#sql.exec<{ event: string }>(`SELECT event FROM gate_events WHERE seq = ?`, event.seq).toArray()[0];
    if (row === undefined) return false;
    const kept = JSON.parse(row.event) as GateEvent;
    return EVENT_IDENTITY.every((k) => kept[k] === event[k]);
  }

  /** Forgets every event: D1's log went back (hub.ts, "A restore"), and what is kept here is no longer its tail. */
  clear(): void {
    this.#sql.exec(`DELETE FROM gate_events`);
  }

  /** Keeps `event` (once: appending a seq already kept changes nothing), then drops what is past the retention. */
  append(event: GateEvent, nowMs: number): void {
    this.#sql.exec(
      `INSERT OR IGNORE INTO gate_events (seq, prev_seq, appended_at, event) VALUES (?, ?, ?, ?)`,
      event.seq,
      event.prev_seq,
      nowMs,
      JSON.stringify(event),
    );
    // The newest EVENT_LOG_MAX, and of those the ones younger than the retention; the newest one always stays (it is
    // the snapshot a subscriber without a replay gets).
    this.#sql.exec(
      `DELETE FROM gate_events WHERE seq < (SELECT MAX(seq) FROM gate_events)
         AND (appended_at < ? OR seq <= COALESCE((SELECT seq FROM gate_events ORDER BY seq DESC LIMIT 1 OFFSET ?), 0))`,
      nowMs - EVENT_LOG_RETENTION_MS,
      EVENT_LOG_MAX,
    );
  }

  /**
   * The events after `seq`, oldest first: empty when `seq` is the head, null when the log does not hold the event
   * that followed `seq` (too old, or a seq this gate never had).
   */
  after(seq: number): GateEvent[] | null {
    const head = this.head();
    if (seq === head) return [];
    if (seq > head) return null;
    const linked = this.#sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM gate_events WHERE prev_seq = ? AND seq > ?`, seq, seq).one().n;
    if (linked === 0) return null;
    return this.#sql
      .exec<{ event: string }>(`SELECT event FROM gate_events WHERE seq > ? ORDER BY seq`, seq)
      .toArray()
      .map((r) => JSON.parse(r.event) as GateEvent);
  }
}
