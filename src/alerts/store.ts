/**
 * Alerts and the webhook events they emit (docs/storage.md). The D1 implementation is d1-store.ts.
 *
 * Consistency: `raise` is atomic: it upserts the unresolved alert of (gate, kind) and appends the occurrence, and only when that opened a new
 * alert it records the alert's `alert.opened` event and one pending delivery per enabled endpoint. So an alert is
 * never opened without its deliveries, and a repeat never emits a second event.
 */
import type { Alert, AlertKind, AlertOccurrence, AlertStatus } from "../contract";

/** A webhook event to record with an alert change; ids are derived from the alert, so a repeat is ignored. */
export interface WebhookEventInput {
  readonly id: string;
  readonly type: string;
  readonly payload: string;
}

export interface AlertFilter {
  readonly gate_id?: string | undefined;
  readonly kind?: AlertKind | undefined;
  readonly status?: AlertStatus | undefined;
  readonly limit: number;
  /** Only alerts opened before the one whose database order this is (the `next` of the previous page). */
  readonly before?: number | null | undefined;
}

/** A page of alerts, newest first. */
export interface AlertPage {
  readonly items: Alert[];
  /** Pass back as `before` for the next (older) page; null on the last page. */
  readonly next: number | null;
}

export interface AlertStore {
  /**
   * Opens `candidate` or, when (gate, kind) already has an unresolved alert, counts a repeat on that one (occurrences
   * + 1, last_seen_at; its first summary and details are kept). Every occurrence is recorded with its own numbers.
   * Returns the alert as stored and whether it was newly opened; null when `maxUnresolvedOfKind` unresolved alerts of
   * the kind exist and this would open another (checked atomically with the insert).
   */
  raise(candidate: Alert, opened: WebhookEventInput, maxUnresolvedOfKind?: number): Promise<{ alert: Alert; opened: boolean } | null>;
  /** The alert's occurrences, newest first. */
  occurrences(alertId: string, limit: number): Promise<AlertOccurrence[]>;
  get(id: string): Promise<Alert | null>;
  /** Newest first (the order alerts were opened; a repeat does not move an alert). */
  list(filter: AlertFilter): Promise<Alert[]>;
  /** Like list, with the position of the next page. */
  page(filter: AlertFilter): Promise<AlertPage>;
  countUnresolved(kind: AlertKind): Promise<number>;
  /** Unresolved alerts per gate and kind, with the earliest first occurrence among them (for /metrics). */
  openCounts(): Promise<{ gate_id: string; kind: AlertKind; n: number; since: string }[]>;
  acknowledge(id: string, actor: string, now: string, note: string | null): Promise<void>;
  /** Resolves the alert and emits its `alert.resolved` event to every enabled endpoint, atomically. */
  resolve(id: string, actor: string, now: string, resolved: WebhookEventInput, note: string | null): Promise<void>;
  /**
   * Records that `token` asked for the uncalibrated gate in `minute` (a repeat of the same minute is one sighting),
   * forgets every sighting before `sinceMinute`, and returns in how many distinct minutes from `sinceMinute` on this
   * token asked for this gate. One atomic batch, so concurrent isolates count each minute once.
   */
  recordSighting(sighting: UncalibratedSighting, sinceMinute: number): Promise<number>;
}

/** A token asking for a gate that has no active calibration, in one minute (Unix minutes). */
export interface UncalibratedSighting {
  readonly gate_id: string;
  /** The token's name, never the token. */
  readonly token: string;
  readonly minute: number;
}
