/** D1 implementation of IdempotencyStore: `begin` is a single conditional INSERT. */
import type { IdempotencyRecord, IdempotencyStore } from "./idempotency-store";

export class D1IdempotencyStore implements IdempotencyStore {
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
