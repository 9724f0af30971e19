/**
 * In-memory AlertStore for unit tests of services: the same contract as the D1 store (one unresolved alert per gate
 * and kind, repeats counted as occurrences, the first summary kept as `first_summary` and the latest read as `summary`, the cap checked with the insert, webhook
 * events recorded once per alert change), no persistence. `events` shows what would be fanned out to endpoints.
 */

import {
  type AlertFilter,
  type AlertPage,
  type AlertStore,
  type UncalibratedSighting,
  urgencyKey,
  type WebhookEventInput,
} from "../../src/alerts/store";
import type { RaisedShiftAlert } from "../../src/calibrations/served-shift";
import type { Alert, AlertKind, AlertOccurrence, ShiftReport } from "../../src/contract";

export class MemoryAlertStore implements AlertStore {
  readonly #alerts: Alert[] = [];
  readonly #occurrences = new Map<string, AlertOccurrence[]>();
  readonly events: WebhookEventInput[] = [];
  /** Sightings of uncalibrated gates, `gate\0token\0minute`; `sightingWrites` counts recordSighting calls. */
  readonly sightings = new Set<string>();
  sightingWrites = 0;
  #seq = 0;

  async raise(candidate: Alert, opened: WebhookEventInput, maxUnresolvedOfKind?: number): Promise<{ alert: Alert; opened: boolean } | null> {
    const existing = this.#alerts.find((a) => a.gate_id === candidate.gate_id && a.kind === candidate.kind && a.status !== "resolved");
    const occurrence = (alertId: string): void => {
      const list = this.#occurrences.get(alertId) ?? [];
      list.unshift({
        seq: ++this.#seq,
        number: list.length + 1,
        seen_at: candidate.last_seen_at,
        summary: candidate.summary,
        details: structuredClone(candidate.details),
        calibration_ids: [...candidate.calibration_ids],
      });
      this.#occurrences.set(alertId, list);
    };
    if (existing) {
      const i = this.#alerts.indexOf(existing);
      const updated: Alert = { ...existing, summary: candidate.summary, occurrences: existing.occurrences + 1, last_seen_at: candidate.last_seen_at };
      this.#alerts[i] = updated;
      occurrence(existing.id);
      return { alert: structuredClone(updated), opened: false };
    }
    if (maxUnresolvedOfKind !== undefined && (await this.countUnresolved(candidate.kind)) >= maxUnresolvedOfKind) return null;
    const stored = structuredClone(candidate);
    this.#alerts.push(stored);
    occurrence(stored.id);
    if (!this.events.some((e) => e.id === opened.id)) this.events.push(opened);
    return { alert: structuredClone(stored), opened: true };
  }

  async shiftAlertsRaisedBy(gateId: string, calibrationIds: readonly string[]): Promise<ReadonlyMap<string, RaisedShiftAlert>> {
    const newestFirst = this.#alerts
      .filter((a) => a.gate_id === gateId && a.kind === "rebuild_shift")
      .flatMap((a) => (this.#occurrences.get(a.id) ?? []).map((o) => ({ alert_id: a.id, o })))
      .sort((x, y) => y.o.seq - x.o.seq);
    const raised = new Map<string, RaisedShiftAlert>();
    for (const { alert_id, o } of newestFirst) {
      const id = o.calibration_ids[1];
      if (id === undefined || !calibrationIds.includes(id) || raised.has(id)) continue;
      raised.set(id, { alert_id, shift: (o.details.shift as ShiftReport | undefined) ?? null });
    }
    return raised;
  }

  async occurrences(alertId: string, limit: number, before: number | null = null): Promise<AlertOccurrence[]> {
    const list = this.#occurrences.get(alertId) ?? [];
    return structuredClone(list.filter((o) => o.seq < (before ?? Number.MAX_SAFE_INTEGER)).slice(0, limit));
  }

  async get(id: string): Promise<Alert | null> {
    const a = this.#alerts.find((x) => x.id === id);
    return a ? structuredClone(a) : null;
  }

  async list(filter: AlertFilter): Promise<Alert[]> {
    return (await this.page(filter)).items;
  }

  /** An alert's position + 1 stands for the D1 rowid (the order alerts were opened). */
  async page(filter: AlertFilter): Promise<AlertPage> {
    const matching = this.#alerts
      .map((a, i) => ({ a, seq: filter.order === "urgency" ? urgencyKey(a.status, i + 1) : i + 1 }))
      .filter(({ a }) => (filter.gate_id === undefined || a.gate_id === filter.gate_id) && (filter.kind === undefined || a.kind === filter.kind))
      .filter(({ a }) => (filter.status === undefined || a.status === filter.status) && (filter.index === undefined || a.gate.index === filter.index))
      .filter(({ seq }) => seq < (filter.before ?? Number.MAX_SAFE_INTEGER))
      .sort((x, y) => y.seq - x.seq);
    const rows = matching.slice(0, filter.limit);
    return { items: rows.map(({ a }) => structuredClone(a)), next: matching.length > filter.limit ? rows[rows.length - 1]!.seq : null };
  }

  async countUnresolved(kind: AlertKind): Promise<number> {
    return this.#alerts.filter((a) => a.kind === kind && a.status !== "resolved").length;
  }

  async openCounts(): Promise<{ gate_id: string; kind: AlertKind; n: number; since: string }[]> {
    const counts = new Map<string, { gate_id: string; kind: AlertKind; n: number; since: string }>();
    for (const a of this.#alerts) {
      if (a.status === "resolved") continue;
      const key = `${a.gate_id}\u0000${a.kind}`;
      const c = counts.get(key) ?? { gate_id: a.gate_id, kind: a.kind, n: 0, since: a.first_seen_at };
      c.n += 1;
      if (a.first_seen_at < c.since) c.since = a.first_seen_at;
      counts.set(key, c);
    }
    return [...counts.values()];
  }

  async acknowledge(id: string, actor: string, now: string, note: string | null): Promise<void> {
    const i = this.#alerts.findIndex((a) => a.id === id && a.status === "open");
    if (i >= 0)
      this.#alerts[i] = { ...this.#alerts[i]!, status: "acknowledged", acknowledged_at: now, acknowledged_by: actor, acknowledged_note: note };
  }

  async resolve(id: string, actor: string, now: string, resolved: WebhookEventInput, note: string | null): Promise<void> {
    const i = this.#alerts.findIndex((a) => a.id === id && a.status !== "resolved");
    if (i < 0) return;
    this.#alerts[i] = { ...this.#alerts[i]!, status: "resolved", resolved_at: now, resolved_by: actor, resolved_note: note };
    if (!this.events.some((e) => e.id === resolved.id)) this.events.push(resolved);
  }

  async notify(id: string, _now: string, event: WebhookEventInput): Promise<void> {
    if (!this.#alerts.some((a) => a.id === id && a.status !== "resolved")) return;
    if (!this.events.some((e) => e.id === event.id)) this.events.push(event);
  }

  async recordSighting(s: UncalibratedSighting, sinceMinute: number): Promise<number> {
    this.sightingWrites += 1;
    this.sightings.add(`${s.gate_id}\u0000${s.token}\u0000${s.minute}`);
    let n = 0;
    for (const key of [...this.sightings]) {
      const [gate, token, minute] = key.split("\u0000") as [string, string, string];
      if (Number(minute) < sinceMinute) this.sightings.delete(key);
      else if (gate === s.gate_id && token === s.token) n += 1;
    }
    return n;
  }
}
