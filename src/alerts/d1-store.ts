/**
 * D1 implementation of AlertStore (store.ts says what it promises): `raise` is one atomic D1 batch. The SQL is the
 * behaviour under test, so it runs in workerd against local D1 (test/alerts/routes.workerd.test.ts); services use
 * the in-memory double in test/support/.
 */
import type { RaisedShiftAlert } from "../calibrations/served-shift";
import type { Alert, AlertKind, AlertOccurrence, AlertStatus, ShiftReport } from "../contract";
import { equalityWhere } from "../platform/sql";
import {
  type AlertFilter,
  type AlertPage,
  type AlertStore,
  STATUS_URGENCY,
  type UncalibratedSighting,
  URGENCY_STRIDE,
  type WebhookEventInput,
} from "./store";

interface AlertRow {
  id: string;
  gate_id: string;
  gate: string;
  kind: AlertKind;
  status: AlertStatus;
  summary: string;
  details: string;
  calibration_ids: string;
  occurrences: number;
  first_seen_at: string;
  last_seen_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  acknowledged_note: string | null;
  resolved_note: string | null;
  /** From ALERT_COLUMNS: the newest occurrence's summary (null only if the alert has no occurrence row). */
  latest_summary: string | null;
}

/**
 * The alert row's columns plus its latest occurrence's summary: the row keeps the first occurrence's (`summary`), the
 * API's `summary` is the latest (docs/api.md, "Alerts"). Read, not written, so alerts stored before this read right.
 */
const ALERT_COLUMNS = `*, (SELECT o.summary FROM alert_occurrences o WHERE o.alert_id = alerts.id ORDER BY o.seq DESC LIMIT 1) AS latest_summary`;

const toAlert = ({ latest_summary, ...r }: AlertRow): Alert => ({
  ...r,
  summary: latest_summary ?? r.summary,
  first_summary: r.summary,
  gate: JSON.parse(r.gate) as Alert["gate"],
  details: JSON.parse(r.details) as Alert["details"],
  calibration_ids: JSON.parse(r.calibration_ids) as string[],
});

export class D1AlertStore implements AlertStore {
  constructor(private readonly db: D1Database) {}

  /**
   * Statements that record `event` for `alertId` and fan it out to every enabled endpoint, when the alert row with
   * that id exists in `status` (or any status). Event ids are derived from the alert, so a repeat is ignored.
   */
  private eventStatements(event: WebhookEventInput, alertId: string, now: string, status: AlertStatus | "unresolved" | null): D1PreparedStatement[] {
    const condition = status === null ? "" : status === "unresolved" ? " AND status <> 'resolved'" : ` AND status = '${status}'`;
    const guard = `WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?3${condition})`;
    return [
      this.db
        .prepare(`INSERT OR IGNORE INTO webhook_events (id, type, alert_id, payload, created_at) SELECT ?1, ?2, ?3, ?4, ?5 ${guard}`)
        .bind(event.id, event.type, alertId, event.payload, now),
      this.db
        .prepare(
          `INSERT OR IGNORE INTO webhook_deliveries (id, event_id, endpoint_id, status, attempts, next_attempt_at, created_at, updated_at)
           SELECT ?1 || ':' || e.id, ?1, e.id, 'pending', 0, ?2, ?2, ?2 FROM webhook_endpoints e
           WHERE e.enabled = 1 AND EXISTS (SELECT 1 FROM webhook_events WHERE id = ?1 AND alert_id = ?3)`,
        )
        .bind(event.id, now, alertId),
    ];
  }

  /**
   * Opens `candidate` or, when (gate, kind) already has an unresolved alert, counts a repeat on that one (occurrences
   * + 1, last_seen_at); the alert row keeps its first occurrence's summary and details, and every occurrence is
   * appended to alert_occurrences with its own numbers (the alert read back carries the latest's summary). With `maxUnresolvedOfKind`, a new alert is opened only while fewer than
   * that many of its kind are unresolved, checked inside the same statement (so the cap holds under concurrent
   * raises); null when the cap refused it.
   */
  async raise(candidate: Alert, opened: WebhookEventInput, maxUnresolvedOfKind?: number): Promise<{ alert: Alert; opened: boolean } | null> {
    const c = candidate;
    const unresolvedHere = `EXISTS (SELECT 1 FROM alerts WHERE gate_id = ?2 AND kind = ?4 AND status <> 'resolved')`;
    const cap =
      maxUnresolvedOfKind === undefined
        ? "WHERE true"
        : `WHERE ${unresolvedHere} OR (SELECT COUNT(*) FROM alerts WHERE kind = ?4 AND status <> 'resolved') < ?9`;
    const results = await this.db.batch<AlertRow>([
      this.db
        .prepare(
          `INSERT INTO alerts (id, gate_id, gate, kind, status, summary, details, calibration_ids, occurrences, first_seen_at, last_seen_at)
           SELECT ?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, 1, ?8, ?8 ${cap}
           ON CONFLICT (gate_id, kind) WHERE status <> 'resolved' DO UPDATE SET
             occurrences = alerts.occurrences + 1, last_seen_at = excluded.last_seen_at`,
        )
        .bind(
          c.id,
          c.gate_id,
          JSON.stringify(c.gate),
          c.kind,
          c.summary,
          JSON.stringify(c.details),
          JSON.stringify(c.calibration_ids),
          c.first_seen_at,
          ...(maxUnresolvedOfKind === undefined ? [] : [maxUnresolvedOfKind]),
        ),
      this.db
        .prepare(
          `INSERT INTO alert_occurrences (alert_id, seen_at, summary, details, calibration_ids)
           SELECT id, ?3, ?4, ?5, ?6 FROM alerts WHERE gate_id = ?1 AND kind = ?2 AND status <> 'resolved'`,
        )
        .bind(c.gate_id, c.kind, c.first_seen_at, c.summary, JSON.stringify(c.details), JSON.stringify(c.calibration_ids)),
      ...this.eventStatements(opened, c.id, c.first_seen_at, null),
      this.db.prepare(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE gate_id = ? AND kind = ? AND status <> 'resolved'`).bind(c.gate_id, c.kind),
    ]);
    const row = results[results.length - 1]!.results[0];
    if (row === undefined) return null;
    const alert = toAlert(row);
    return { alert, opened: alert.id === c.id };
  }

  async occurrences(alertId: string, limit: number, before: number | null = null): Promise<AlertOccurrence[]> {
    const { results } = await this.db
      // Numbered over every stored occurrence of the alert (alert_occurrences_by_alert, migrations/0004) before the
      // page (`seq < before`) is taken, so a later page's numbers are those the first page would give the same rows.
      .prepare(
        `SELECT seq, number, seen_at, summary, details, calibration_ids FROM (
           SELECT seq, ROW_NUMBER() OVER (ORDER BY seq) AS number, seen_at, summary, details, calibration_ids
           FROM alert_occurrences WHERE alert_id = ?
         ) WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
      )
      .bind(alertId, before ?? Number.MAX_SAFE_INTEGER, limit)
      .all<{ seq: number; number: number; seen_at: string; summary: string; details: string; calibration_ids: string }>();
    return results.map((r) => ({
      ...r,
      details: JSON.parse(r.details) as AlertOccurrence["details"],
      calibration_ids: JSON.parse(r.calibration_ids) as string[],
    }));
  }

  /**
   * One query for a page of calibrations: the rebuild_shift occurrences of the gate whose second calibration (the one
   * that shifted) is one of `calibrationIds`, newest first, so the first seen of each is its latest.
   */
  async shiftAlertsRaisedBy(gateId: string, calibrationIds: readonly string[]): Promise<ReadonlyMap<string, RaisedShiftAlert>> {
    const raised = new Map<string, RaisedShiftAlert>();
    if (calibrationIds.length === 0) return raised;
    const { results } = await this.db
      .prepare(
        `SELECT a.id AS alert_id, json_extract(o.calibration_ids, '$[1]') AS calibration_id, json_extract(o.details, '$.shift') AS shift
         FROM alert_occurrences o JOIN alerts a ON a.id = o.alert_id
         WHERE a.gate_id = ?1 AND a.kind = 'rebuild_shift' AND json_extract(o.calibration_ids, '$[1]') IN (SELECT value FROM json_each(?2))
         ORDER BY o.seq DESC`,
      )
      .bind(gateId, JSON.stringify(calibrationIds))
      .all<{ alert_id: string; calibration_id: string; shift: string | null }>();
    for (const r of results) {
      if (!raised.has(r.calibration_id))
        raised.set(r.calibration_id, { alert_id: r.alert_id, shift: r.shift === null ? null : (JSON.parse(r.shift) as ShiftReport) });
    }
    return raised;
  }

  async get(id: string): Promise<Alert | null> {
    const row = await this.db.prepare(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = ?`).bind(id).first<AlertRow>();
    return row ? toAlert(row) : null;
  }

  async list(filter: AlertFilter): Promise<Alert[]> {
    return (await this.page(filter)).items;
  }

  async page(filter: AlertFilter): Promise<AlertPage> {
    const where = equalityWhere([
      ["gate_id", filter.gate_id],
      ["json_extract(gate, '$.index')", filter.index],
      ["kind", filter.kind],
      ["status", filter.status],
    ]);
    // rowid is the order alerts were opened in: one opened later never lands behind a cursor already handed out. The
    // urgency order puts the status rank above it (store.ts urgencyKey); a dashboard list, so a scan is fine.
    const position =
      filter.order === "urgency"
        ? `(CASE status ${Object.entries(STATUS_URGENCY)
            .map(([s, rank]) => `WHEN '${s}' THEN ${rank}`)
            .join(" ")} END) * ${URGENCY_STRIDE} + rowid`
        : "rowid";
    const before = filter.before ?? Number.MAX_SAFE_INTEGER;
    const sql = `SELECT ${position} AS seq, ${ALERT_COLUMNS} FROM alerts ${where.sql === "" ? "WHERE" : `${where.sql} AND`} ${position} < ? ORDER BY seq DESC LIMIT ?`;
    const { results } = await this.db
      .prepare(sql)
      .bind(...where.params, before, filter.limit + 1)
      .all<AlertRow & { seq: number }>();
    const rows = results.slice(0, filter.limit);
    return {
      items: rows.map(({ seq: _, ...r }) => toAlert(r)),
      next: results.length > filter.limit ? rows[rows.length - 1]!.seq : null,
    };
  }

  async countUnresolved(kind: AlertKind): Promise<number> {
    return (
      (await this.db.prepare(`SELECT COUNT(*) AS n FROM alerts WHERE kind = ? AND status <> 'resolved'`).bind(kind).first<{ n: number }>())?.n ?? 0
    );
  }

  /** Unresolved alerts per gate (for /metrics). */
  async openCounts(): Promise<{ gate_id: string; kind: AlertKind; n: number; since: string }[]> {
    const { results } = await this.db
      .prepare(`SELECT gate_id, kind, COUNT(*) AS n, MIN(first_seen_at) AS since FROM alerts WHERE status <> 'resolved' GROUP BY gate_id, kind`)
      .all<{ gate_id: string; kind: AlertKind; n: number; since: string }>();
    return results;
  }

  async acknowledge(id: string, actor: string, now: string, note: string | null): Promise<void> {
    await this.db
      .prepare(
        `UPDATE alerts SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?, acknowledged_note = ? WHERE id = ? AND status = 'open'`,
      )
      .bind(now, actor, note, id)
      .run();
  }

  async notify(id: string, now: string, event: WebhookEventInput): Promise<void> {
    // the alert unresolved, checked with the inserts: a repeat noticed as the alert is resolved sends nothing after it
    await this.db.batch(this.eventStatements(event, id, now, "unresolved"));
  }

  /** Resolves the alert and emits its `alert.resolved` event to every enabled endpoint, atomically. */
  async resolve(id: string, actor: string, now: string, resolved: WebhookEventInput, note: string | null): Promise<void> {
    await this.db.batch([
      this.db
        .prepare(`UPDATE alerts SET status = 'resolved', resolved_at = ?, resolved_by = ?, resolved_note = ? WHERE id = ? AND status <> 'resolved'`)
        .bind(now, actor, note, id),
      ...this.eventStatements(resolved, id, now, "resolved"),
    ]);
  }

  async recordSighting(s: UncalibratedSighting, sinceMinute: number): Promise<number> {
    const results = await this.db.batch<{ n: number }>([
      this.db.prepare(`INSERT OR IGNORE INTO uncalibrated_sightings (gate_id, token, minute) VALUES (?, ?, ?)`).bind(s.gate_id, s.token, s.minute),
      this.db.prepare(`DELETE FROM uncalibrated_sightings WHERE minute < ?`).bind(sinceMinute),
      this.db
        .prepare(`SELECT COUNT(*) AS n FROM uncalibrated_sightings WHERE gate_id = ? AND token = ? AND minute >= ?`)
        .bind(s.gate_id, s.token, sinceMinute),
    ]);
    return results[2]!.results[0]?.n ?? 0;
  }
}
