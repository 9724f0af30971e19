/**
 * D1 implementation of WebhookStore (store.ts says what it promises). No in-memory twin carries the SQL semantics, so
 * these statements are tested in workerd against local D1 (test/webhooks/delivery.workerd.test.ts).
 */
import type { Delivery } from "../contract";
import { AppError } from "../platform/errors";
import { equalityWhere, isUniqueViolation } from "../platform/sql";
import type { DeliveryFilter, DeliveryPage, DueDelivery, StoredEndpoint, WebhookStore } from "./store";

interface EndpointRow {
  id: string;
  url: string;
  secret: string;
  description: string | null;
  enabled: number;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
  updated_by: string | null;
}
const DELIVERY_COLUMNS = `d.id, d.event_id, ev.type AS event_type, ev.alert_id, d.endpoint_id, d.status, d.attempts,
  d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.created_at, d.updated_at`;
const DELIVERY_TABLES = "webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id";
const SELECT_DELIVERY = `SELECT ${DELIVERY_COLUMNS} FROM ${DELIVERY_TABLES}`;

const ENDPOINT_COLUMNS = "id, url, secret, description, enabled, disabled_reason, created_at, updated_at, updated_by";

const toEndpoint = (r: EndpointRow): StoredEndpoint => ({ ...r, enabled: r.enabled === 1 });

export class D1WebhookStore implements WebhookStore {
  constructor(private readonly db: D1Database) {}

  /** The count is checked inside the INSERT, so concurrent creations cannot overshoot `max`. */
  async createEndpoint(e: StoredEndpoint, max: number, request: string | null = null): Promise<boolean> {
    const insert = this.db
      .prepare(
        `INSERT INTO webhook_endpoints (id, url, secret, description, enabled, disabled_reason, created_at, updated_at, created_by, updated_by)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE deleted_at IS NULL) < ?`,
      )
      .bind(e.id, e.url, e.secret, e.description, e.enabled ? 1 : 0, e.disabled_reason, e.created_at, e.updated_at, request, e.updated_by, max);
    try {
      return (await insert.run()).meta.changes === 1;
    } catch (err) {
      // webhook_endpoints_by_request (migrations/0012): a copy of this keyed request stored its endpoint meanwhile; its
      // retry replays it (platform/idempotency.ts), as an upload's does.
      if (request !== null && isUniqueViolation(err, "webhook_endpoints.created_by")) {
        throw new AppError(
          "idempotency_in_progress",
          "this request (the same Idempotency-Key and body) stored its endpoint meanwhile: retry to get it",
        );
      }
      throw err;
    }
  }

  async endpointCreatedBy(request: string): Promise<StoredEndpoint | null> {
    // webhook_endpoints_by_request (migrations/0012)
    const r = await this.db
      .prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE created_by = ? AND deleted_at IS NULL`)
      .bind(request)
      .first<EndpointRow>();
    return r === null ? null : toEndpoint(r);
  }

  async countEndpoints(): Promise<number> {
    return (await this.db.prepare(`SELECT COUNT(*) AS n FROM webhook_endpoints WHERE deleted_at IS NULL`).first<{ n: number }>())?.n ?? 0;
  }

  async endpoints(): Promise<StoredEndpoint[]> {
    const { results } = await this.db
      .prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY created_at, id`)
      .all<EndpointRow>();
    return results.map(toEndpoint);
  }

  async endpoint(id: string, withDeleted = false): Promise<StoredEndpoint | null> {
    const row = await this.db
      .prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1 AND (?2 OR deleted_at IS NULL)`)
      .bind(id, withDeleted ? 1 : 0)
      .first<EndpointRow>();
    return row ? toEndpoint(row) : null;
  }

  /**
   * Retires an endpoint: disabled and marked deleted (who, when) in the same batch that fails its pending deliveries.
   * The row stays because deliveries reference it and remain listed. Null when there is no such (undeleted) endpoint.
   */
  async deleteEndpoint(id: string, actor: string, now: string): Promise<{ failed_deliveries: number } | null> {
    const [retired, failed] = await this.db.batch([
      this.db
        .prepare(
          `UPDATE webhook_endpoints SET enabled = 0, disabled_reason = 'deleted', deleted_at = ?1, deleted_by = ?2, updated_at = ?1
           WHERE id = ?3 AND deleted_at IS NULL`,
        )
        .bind(now, actor, id),
      this.db
        .prepare(
          `UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint deleted', next_attempt_at = NULL, lease_until = NULL, updated_at = ?1
           WHERE endpoint_id = ?2 AND status = 'pending' AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?2 AND deleted_at = ?1)`,
        )
        .bind(now, id),
    ]);
    if (retired!.meta.changes !== 1) return null;
    return { failed_deliveries: failed!.meta.changes };
  }

  async updateEndpoint(e: StoredEndpoint): Promise<void> {
    await this.db
      .prepare(
        `UPDATE webhook_endpoints SET url = ?, secret = ?, description = ?, enabled = ?, disabled_reason = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
      )
      .bind(e.url, e.secret, e.description, e.enabled ? 1 : 0, e.disabled_reason, e.updated_at, e.updated_by, e.id)
      .run();
  }

  /**
   * Claims the most overdue due delivery of an enabled endpoint by taking a lease on it (a conditional UPDATE: two
   * senders cannot both win), or null when nothing is due. Claim one at a time, right before sending, so a lease
   * never runs out while the delivery waits behind others. An alert's events reach an endpoint in order: its
   * `alert.repeated` and `alert.resolved` wait while its `alert.opened` to the same endpoint is pending (in backoff while the receiver was
   * down; without it the receiver saw the resolution first and then an alarm nobody would close), and goes once that
   * one is delivered or given up. The opening's delivery is looked up by its primary key, derived as every event's id
   * is (src/alerts/lifecycle.ts: `msg_<alert id>_opened`, and `<event id>:<endpoint id>`): a correlated scan of the
   * pending deliveries grew with their square during an outage (34 s a claim at 10,000 pending). `skip` (a JSON
   * array, so its length binds no parameters) passes over the endpoints a run holds.
   */
  async claimNext(now: string, leaseUntil: string, skip: readonly string[] = []): Promise<DueDelivery | null> {
    for (let tries = 0; tries < 3; tries++) {
      const candidate = await this.db
        .prepare(
          `SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN webhook_events ev ON ev.id = d.event_id
           WHERE d.status = 'pending' AND e.enabled = 1 AND d.next_attempt_at <= ?1 AND (d.lease_until IS NULL OR d.lease_until <= ?1)
             AND d.endpoint_id NOT IN (SELECT value FROM json_each(?2))
             AND (ev.type = 'alert.opened' OR NOT EXISTS (
               SELECT 1 FROM webhook_deliveries o WHERE o.id = 'msg_' || ev.alert_id || '_opened:' || d.endpoint_id AND o.status = 'pending'))
           ORDER BY d.next_attempt_at LIMIT 1`,
        )
        .bind(now, JSON.stringify(skip))
        .first<{ id: string }>();
      if (candidate === null) return null;
      const taken = await this.db
        .prepare(`UPDATE webhook_deliveries SET lease_until = ?1 WHERE id = ?2 AND status = 'pending' AND (lease_until IS NULL OR lease_until <= ?3)`)
        .bind(leaseUntil, candidate.id, now)
        .run();
      if (taken.meta.changes !== 1) continue; // another sender took it: look again
      return this.db
        .prepare(
          `SELECT d.id, d.event_id, ev.payload, d.attempts, d.endpoint_id, e.url, e.secret, d.lease_until
           FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id JOIN webhook_endpoints e ON e.id = d.endpoint_id
           WHERE d.id = ?`,
        )
        .bind(candidate.id)
        .first<DueDelivery>();
    }
    return null;
  }

  /** Records a 2xx, if this sender still holds the lease (`lease`); returns whether it did. */
  async markDelivered(id: string, lease: string, status: number, now: string): Promise<boolean> {
    const r = await this.db
      .prepare(
        `UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL,
         delivered_at = ?, next_attempt_at = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_until = ?`,
      )
      .bind(status, now, now, id, lease)
      .run();
    return r.meta.changes === 1;
  }

  /** Records a failed attempt (retry at `nextAttemptAt`, or give up when null), if this sender still holds the lease. */
  async markFailed(id: string, lease: string, status: number | null, error: string, nextAttemptAt: string | null, now: string): Promise<boolean> {
    const r = await this.db
      .prepare(
        `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_status = ?, last_error = ?,
         next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_until = ?`,
      )
      .bind(nextAttemptAt === null ? "failed" : "pending", status, error, nextAttemptAt, now, id, lease)
      .run();
    return r.meta.changes === 1;
  }

  /** 410 Gone: disable the endpoint and fail its pending deliveries (they stay visible and replayable). */
  async disableGone(endpointId: string, reason: string, now: string): Promise<void> {
    await this.db.batch([
      this.db.prepare(`UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?`).bind(reason, now, endpointId),
      this.db
        .prepare(
          `UPDATE webhook_deliveries SET status = 'failed', last_error = ?, next_attempt_at = NULL, lease_until = NULL, updated_at = ?
           WHERE endpoint_id = ? AND status = 'pending'`,
        )
        .bind(reason, now, endpointId),
    ]);
  }

  /**
   * Keyset pages over (created_at DESC, id): the cursor row's pair is read by its rowid, and the page starts after it.
   * Each API filter has an index in that order (migrations/0013), so a page reads its own rows, not every newer one;
   * an alert's deliveries (one per endpoint and event, of two events at most) are found through its events.
   */
  async deliveries(filter: DeliveryFilter): Promise<DeliveryPage> {
    const where = equalityWhere([
      ["d.status", filter.status],
      ["d.endpoint_id", filter.endpoint_id],
      ["ev.alert_id", filter.alert_id],
    ]);
    const at = (column: "created_at" | "id") => `(SELECT ${column} FROM webhook_deliveries WHERE rowid = ?)`;
    // `created_at <=` on its own, so the index seeks to the cursor's time instead of reading every newer row
    const after =
      filter.before == null
        ? { sql: where.sql, params: [] }
        : {
            sql: `${where.sql === "" ? "WHERE" : `${where.sql} AND`} d.created_at <= ${at("created_at")} AND (d.created_at < ${at("created_at")} OR d.id > ${at("id")})`,
            params: [filter.before, filter.before, filter.before],
          };
    const { results } = await this.db
      .prepare(`SELECT d.rowid AS position, ${DELIVERY_COLUMNS} FROM ${DELIVERY_TABLES} ${after.sql} ORDER BY d.created_at DESC, d.id LIMIT ?`)
      .bind(...where.params, ...after.params, filter.limit + 1)
      .all<Delivery & { position: number }>();
    const rows = results.slice(0, filter.limit);
    return {
      items: rows.map(({ position: _, ...d }) => d),
      next: results.length > filter.limit ? rows[rows.length - 1]!.position : null,
    };
  }

  async delivery(id: string): Promise<Delivery | null> {
    return this.db.prepare(`${SELECT_DELIVERY} WHERE d.id = ?`).bind(id).first<Delivery>();
  }

  /** Replays a delivery: pending again, due now, same event (same webhook-id and body). False while it is being sent. */
  async replay(id: string, now: string): Promise<boolean> {
    const r = await this.db
      .prepare(
        `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?1, attempts = 0, updated_at = ?1
         WHERE id = ?2 AND (lease_until IS NULL OR lease_until <= ?1)`,
      )
      .bind(now, id)
      .run();
    return r.meta.changes === 1;
  }
}
