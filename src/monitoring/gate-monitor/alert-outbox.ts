/**
 * The alert outbox: alarms the monitor's transactions decided on, written in the same transaction as the counts
 * that caused them (`pending_alerts`), and raised in D1 afterwards, oldest first. A raise that fails leaves the rest
 * in place for the object's alarm to retry, so no alert is lost and none is raised before its counts are stored.
 * Owns the table `pending_alerts` (migrations.ts).
 */
import type { AlertInput } from "../../alerts/lifecycle";

export class AlertOutbox {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Queues an alert; call inside the transaction that decided it. */
  add(alert: AlertInput, nowMs: number): void {
    this.#sql.exec(`INSERT INTO pending_alerts (created_at, alert) VALUES (?, ?)`, nowMs, JSON.stringify(alert));
  }

  /** Raises every pending alert in order, removing each once raised; stops at the first failure. True when empty. */
  async drain(raise: (alert: AlertInput) => Promise<unknown>): Promise<boolean> {
    const rows = this.#sql.exec<{ id: number; alert: string }>(`SELECT id, alert FROM pending_alerts ORDER BY id`).toArray();
    for (const row of rows) {
      try {
        await raise(JSON.parse(row.alert) as AlertInput);
        this.#sql.exec(`DELETE FROM pending_alerts WHERE id = ?`, row.id);
      } catch (e) {
        console.error("raising a drift alert failed; the monitor's alarm retries it", e);
        return false;
      }
    }
    return true;
  }

  /** The alerts decided and not yet raised, oldest first: their gate reads "alarm" meanwhile (../drift-state.ts). */
  pending(): { kind: AlertInput["kind"]; at: number }[] {
    return this.#sql
      .exec<{ created_at: number; alert: string }>(`SELECT created_at, alert FROM pending_alerts ORDER BY id`)
      .toArray()
      .map((r) => ({ kind: (JSON.parse(r.alert) as AlertInput).kind, at: r.created_at }));
  }

  get empty(): boolean {
    return this.#sql.exec(`SELECT 1 FROM pending_alerts LIMIT 1`).toArray().length === 0;
  }
}
