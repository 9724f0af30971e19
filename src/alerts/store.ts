/**
 * Alerts and the webhook events they emit (docs/storage.md). The D1 implementation is d1-store.ts.
 *
 * Consistency: `raise` is atomic: it upserts the unresolved alert of (gate, kind) and appends the occurrence, and only when that opened a new
 * alert it records the alert's `alert.opened` event and one pending delivery per enabled endpoint. So an alert is
 * never opened without its deliveries, and a repeat never emits a second event.
 */
import type { RaisedShiftAlerts } from "../calibrations/served-shift";
import type { Alert, AlertKind, AlertOccurrence, AlertStatus } from "../contract";

/** A webhook event to record with an alert change; ids are derived from the alert, so a repeat is ignored. */
export interface WebhookEventInput {
  readonly id: string;
  readonly type: string;
  readonly payload: string;
}

export interface AlertFilter {
  readonly gate_id?: string | undefined;
  /** Only alerts of gates in this index. */
  readonly index?: string | undefined;
  readonly kind?: AlertKind | undefined;
  readonly status?: AlertStatus | undefined;
  readonly limit: number;
  /**
   * "opened" (the default): newest opened first, `before`/`next` the alert's database order. "urgency": open alerts,
   * then acknowledged, then resolved, newest opened first within each; `before`/`next` are then the position
   * urgencyKey gives. An alert only moves down that order (open to acknowledged to resolved), so following `next`
   * still reaches every alert that existed at the first page (one resolved while paging may be listed twice).
   */
  readonly order?: "opened" | "urgency" | undefined;
  /** Only alerts after the one whose position this is (the `next` of the previous page). */
  readonly before?: number | null | undefined;
}

/** Rank of a status in the "urgency" order (higher first). */
export const STATUS_URGENCY: Readonly<Record<AlertStatus, number>> = { open: 2, acknowledged: 1, resolved: 0 };

/**
 * Positions in the "urgency" order: the status rank above any database order (rowids stay below 2^40, about 10^12
 * alerts), so one number sorts by status, then by opening, and stays a cursor (cursorOf needs a safe integer).
 */
export const URGENCY_STRIDE = 2 ** 40;

/** An alert's position in the "urgency" order, from its status and database order (rowid). */
export const urgencyKey = (status: AlertStatus, seq: number): number => STATUS_URGENCY[status] * URGENCY_STRIDE + seq;

/** A page of alerts, in the filter's order. */
export interface AlertPage {
  readonly items: Alert[];
  /** Pass back as `before` for the next page; null on the last page. */
  readonly next: number | null;
}

/** Also what a calibration is read with (src/calibrations/served-shift.ts): the rebuild_shift alert its activation raised. */
export interface AlertStore extends RaisedShiftAlerts {
  /**
   * Opens `candidate` or, when (gate, kind) already has an unresolved alert, counts a repeat on that one (occurrences
   * + 1, last_seen_at; its first summary and details are kept as `first_summary` and `details`). Every occurrence is
   * recorded with its own numbers, and an alert is read with the latest occurrence's `summary`.
   * Returns the alert as stored and whether it was newly opened; null when `maxUnresolvedOfKind` unresolved alerts of
   * the kind exist and this would open another (checked atomically with the insert).
   */
  raise(candidate: Alert, opened: WebhookEventInput, maxUnresolvedOfKind?: number): Promise<{ alert: Alert; opened: boolean } | null>;
  /**
   * The alert's newest `limit` occurrences whose `seq` is below `before` (all without it), newest first, each with its
   * `number` among all the alert's stored ones. `seq` only grows, so an occurrence recorded while a caller pages sorts
   * above every `before` it already holds: following the `seq` of each page's last row visits every occurrence once.
   */
  occurrences(alertId: string, limit: number, before?: number | null): Promise<AlertOccurrence[]>;
  get(id: string): Promise<Alert | null>;
  /** In `filter.order` (newest opened first by default; a repeat does not move an alert). */
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
   * Emits `event` for the unresolved alert `id` to every enabled endpoint (an `alert.repeated`: a new change counted on
   * an open alert, src/alerts/shift-alert.ts); nothing when the alert is resolved or the event was emitted before.
   */
  notify(id: string, now: string, event: WebhookEventInput): Promise<void>;
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
