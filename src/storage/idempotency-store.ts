/**
 * Idempotency keys for uploads (Stripe semantics), in D1. A key belongs to the token name that used it.
 * `begin` is a single conditional INSERT, so two concurrent requests with one key cannot both proceed.
 */
export interface IdempotencyRecord {
  readonly request_hash: string;
  /** null while the first request is still in flight. */
  readonly status: number | null;
  readonly response: string | null;
  readonly created_at: string;
}

export class D1IdempotencyStore {
  constructor(private readonly db: D1Database) {}

  /**
   * Claims the key; returns null when claimed, or the existing record. Records older than `expiredBefore`, and
   * unfinished ones older than `lockedBefore` (their request died mid-way), are replaced.
   */
  async begin(actor: string, key: string, hash: string, now: string, expiredBefore: string, lockedBefore: string): Promise<IdempotencyRecord | null> {
    await this.db
      .prepare(`DELETE FROM idempotency_keys WHERE actor = ? AND key = ? AND (created_at < ? OR (status IS NULL AND created_at < ?))`)
      .bind(actor, key, expiredBefore, lockedBefore)
      .run();
    const inserted = await this.db
      .prepare(`INSERT INTO idempotency_keys (actor, key, request_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (actor, key) DO NOTHING`)
      .bind(actor, key, hash, now)
      .run();
    if (inserted.meta.changes === 1) return null;
    return this.db
      .prepare(`SELECT request_hash, status, response, created_at FROM idempotency_keys WHERE actor = ? AND key = ?`)
      .bind(actor, key)
      .first<IdempotencyRecord>();
  }

  async complete(actor: string, key: string, status: number, response: string): Promise<void> {
    await this.db
      .prepare(`UPDATE idempotency_keys SET status = ?, response = ? WHERE actor = ? AND key = ?`)
      .bind(status, response, actor, key)
      .run();
  }

  /** Releases a key whose request failed, so a corrected retry may use it. */
  async release(actor: string, key: string): Promise<void> {
    await this.db.prepare(`DELETE FROM idempotency_keys WHERE actor = ? AND key = ? AND status IS NULL`).bind(actor, key).run();
  }

  /** Retention: forget keys older than `before`. */
  async purge(before: string): Promise<number> {
    return (await this.db.prepare(`DELETE FROM idempotency_keys WHERE created_at < ?`).bind(before).run()).meta.changes;
  }
}
