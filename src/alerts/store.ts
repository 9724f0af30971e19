/**
 * Alerts and the webhook events they emit (docs/storage.md). The D1 implementation is d1-store.ts.
 *
 * Consistency: `raise` is atomic: it upserts the unresolved alert of (gate, kind), and only when that opened a new
 * alert it records the alert's `alert.opened` event and one pending delivery per enabled endpoint. So an alert is
 * never opened without its deliveries, and a repeat never emits a second event.
 */
import type { Alert, AlertKind, AlertStatus } from "../contract";

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
}

export interface AlertStore {
  /**
   * Opens `candidate` or, when (gate, kind) already has an unresolved alert, updates that one (occurrences + 1,
   * latest numbers). Returns the alert as stored and whether it was newly opened.
   */
  raise(candidate: Alert, opened: WebhookEventInput): Promise<{ alert: Alert; opened: boolean }>;
  get(id: string): Promise<Alert | null>;
  /** Newest first. */
  list(filter: AlertFilter): Promise<Alert[]>;
  countUnresolved(kind: AlertKind): Promise<number>;
  /** Unresolved alerts per gate and kind (for /metrics). */
  openCounts(): Promise<{ gate_id: string; kind: AlertKind; n: number }[]>;
  acknowledge(id: string, actor: string, now: string): Promise<void>;
  /** Resolves the alert and emits its `alert.resolved` event to every enabled endpoint, atomically. */
  resolve(id: string, actor: string, now: string, resolved: WebhookEventInput): Promise<void>;
}
