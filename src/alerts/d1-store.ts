/**
 * D1 implementation of AlertStore (store.ts says what it promises): `raise` is one atomic D1 batch. The SQL is the
 * behaviour under test, so it runs in workerd against local D1 (test/alerts/routes.workerd.test.ts); services use
 * the in-memory double in test/support/.
 */
import type { Alert, AlertKind, AlertStatus } from "../contract";
import { equalityWhere } from "../platform/sql";
import type { AlertFilter, AlertStore, WebhookEventInput } from "./store";

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
}

const toAlert = (r: AlertRow): Alert => ({
  ...r,
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
  private eventStatements(event: WebhookEventInput, alertId: string, now: string, status: AlertStatus | null): D1PreparedStatement[] {
    const guard = `WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?3${status === null ? "" : ` AND status = '${status}'`})`;
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
   * Opens `candidate` or, when (gate, kind) already has an unresolved alert, updates that one (occurrences + 1,
   * latest numbers). Returns the alert as stored and whether it was newly opened.
   */
  async raise(candidate: Alert, opened: WebhookEventInput): Promise<{ alert: Alert; opened: boolean }> {
    const c = candidate;
    const results = await this.db.batch<AlertRow>([
      this.db
        .prepare(
          `INSERT INTO alerts (id, gate_id, gate, kind, status, summary, details, calibration_ids, occurrences, first_seen_at, last_seen_at)
           VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, 1, ?8, ?8)
           ON CONFLICT (gate_id, kind) WHERE status <> 'resolved' DO UPDATE SET
             occurrences = alerts.occurrences + 1, last_seen_at = excluded.last_seen_at, summary = excluded.summary,
             details = excluded.details, calibration_ids = excluded.calibration_ids`,
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
        ),
      ...this.eventStatements(opened, c.id, c.first_seen_at, null),
      this.db.prepare(`SELECT * FROM alerts WHERE gate_id = ? AND kind = ? AND status <> 'resolved'`).bind(c.gate_id, c.kind),
    ]);
    const row = results[results.length - 1]!.results[0];
    if (row === undefined) throw new Error("alert upsert returned no row");
    const alert = toAlert(row);
    return { alert, opened: alert.id === c.id };
  }

  async get(id: string): Promise<Alert | null> {
    const row = await this.db.prepare(`SELECT * FROM alerts WHERE id = ?`).bind(id).first<AlertRow>();
    return row ? toAlert(row) : null;
  }

  async list(filter: AlertFilter): Promise<Alert[]> {
    const where = equalityWhere([
      ["gate_id", filter.gate_id],
      ["kind", filter.kind],
      ["status", filter.status],
    ]);
    const sql = `SELECT * FROM alerts ${where.sql} ORDER BY rowid DESC LIMIT ?`;
    const params = where.params;
    const { results } = await this.db
      .prepare(sql)
      .bind(...params, filter.limit)
      .all<AlertRow>();
    return results.map(toAlert);
  }

  async countUnresolved(kind: AlertKind): Promise<number> {
    return (
      (await this.db.prepare(`SELECT COUNT(*) AS n FROM alerts WHERE kind = ? AND status <> 'resolved'`).bind(kind).first<{ n: number }>())?.n ?? 0
    );
  }

  /** Unresolved alerts per gate (for /metrics). */
  async openCounts(): Promise<{ gate_id: string; kind: AlertKind; n: number }[]> {
    const { results } = await this.db
      .prepare(`SELECT gate_id, kind, COUNT(*) AS n FROM alerts WHERE status <> 'resolved' GROUP BY gate_id, kind`)
      .all<{ gate_id: string; kind: AlertKind; n: number }>();
    return results;
  }

  async acknowledge(id: string, actor: string, now: string): Promise<void> {
    await this.db
      .prepare(`UPDATE alerts SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND status = 'open'`)
      .bind(now, actor, id)
      .run();
  }

  /** Resolves the alert and emits its `alert.resolved` event to every enabled endpoint, atomically. */
  async resolve(id: string, actor: string, now: string, resolved: WebhookEventInput): Promise<void> {
    await this.db.batch([
      this.db
        .prepare(`UPDATE alerts SET status = 'resolved', resolved_at = ?, resolved_by = ? WHERE id = ? AND status <> 'resolved'`)
        .bind(now, actor, id),
      ...this.eventStatements(resolved, id, now, "resolved"),
    ]);
  }
}
